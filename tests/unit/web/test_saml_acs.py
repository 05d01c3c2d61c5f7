"""The SAML ACS decision against a real pysaml2 IdP (xmlsec1 signatures): what is accepted, and every rejection.

No AWS stack: SP state is in memory (``tests.support.saml_fakes``); the XML, signatures and encryption are real.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.core import clock
from chalicelib.core.saml import CLOCK_SKEW_SECONDS, MAX_ASSERTION_AGE_SECONDS, SamlAttributeMapping
from chalicelib.web.errors import SamlError
from chalicelib.web.saml import responses, signed_view, sp_config
from chalicelib.web.saml.authn_requests import redirect_to_idp
from chalicelib.web.saml.metadata import sp_metadata_xml
from chalicelib.web.saml.responses import accept_response
from tests.support import saml_attacks as attacks
from tests.support.saml_idp import (
    DIGEST_SHA1,
    RSA_1_5,
    SIG_RSA_SHA1,
    TRIPLE_DES_CBC,
    SamlTestIdP,
    User,
    encode,
    persistent,
)
from tests.support.saml_sp import SpUnderTest, sp_under_test

FLOW = {"client_id": "demo-web", "redirect_uri": "http://127.0.0.1:8000/_local/callback", "state": "s1"}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SamlTestIdP:
    return SamlTestIdP(tmp_path_factory.mktemp("idp"))


@pytest.fixture(scope="module")
def sp(idp: SamlTestIdP) -> Iterator[SpUnderTest]:
    with sp_under_test(idp) as under_test:
        yield under_test


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.reset()


def start(sp: SpUnderTest) -> str:
    """SP-initiated: our redirect reaches the IdP, which checks its signature; returns the request ID."""
    return str(sp.idp.receive_redirect(redirect_to_idp(sp.integration, FLOW)[0]).id)


def rejected(sp: SpUnderTest, xml_or_encoded: str, *, encoded: bool = False) -> str:
    with pytest.raises(SamlError) as caught:
        accept_response(sp.integration, xml_or_encoded if encoded else encode(xml_or_encoded))
    return caught.value.reason


# --- accepted ---------------------------------------------------------------------------------------------------


def test_authn_request_is_signed_with_rsa_sha256_over_http_redirect(sp: SpUnderTest) -> None:
    url, request_id = redirect_to_idp(sp.integration, FLOW, relay_state="login-1")
    query = parse_qs(urlsplit(url).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["RelayState"] == ["login-1"]
    request = sp.idp.receive_redirect(url)  # verifies the query signature against our metadata certificate
    assert request.id == request_id
    assert request.issuer.text == sp.entity_id
    assert request.assertion_consumer_service_url == sp.acs_url
    assert request.protocol_binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    stored = [r for (_, _, rid), (r, used) in sp.state.requests.items() if rid == request.id]
    assert stored and stored[0].flow == FLOW and stored[0].expires_at > clock.now()


@pytest.mark.parametrize(
    "options",
    [
        {"sign_response": True, "sign_assertion": False},
        {"sign_response": False, "sign_assertion": True},
        {"sign_response": True, "sign_assertion": True},
        {"sign_response": True, "encrypted": True},
        {"sign_response": False, "sign_assertion": True, "encrypted": True},
    ],
    ids=[
        "signed-response",
        "signed-assertion",
        "both-signed",
        "encrypted-signed-response",
        "encrypted-signed-assertion",
    ],
)
def test_sp_initiated_login_is_accepted(sp: SpUnderTest, options: dict[str, bool]) -> None:
    request_id = start(sp)
    accepted = accept_response(sp.integration, sp.respond(request_id, **options))
    identity = accepted.identity
    assert accepted.flow == FLOW
    assert identity.subject == "alice@corp.example"
    assert identity.issuer == sp.idp.entity_id
    assert identity.in_response_to == request_id
    assert (identity.email, identity.given_name, identity.family_name, identity.name) == (
        "alice@corp.example",
        "Alice",
        "Liddell",
        "Alice Liddell",
    )
    assert identity.groups == ("engineering", "admins")
    assert identity.authn_context == "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def test_idp_initiated_login_only_where_allowed(sp: SpUnderTest) -> None:
    assert rejected(sp, sp.respond_xml(None)) == "unsolicited_not_allowed"
    allowing = sp.with_options(allow_unsolicited=True)
    accepted = accept_response(allowing.integration, allowing.respond(None))
    assert accepted.flow is None
    assert accepted.identity.subject == "alice@corp.example"
    assert accepted.identity.in_response_to is None


def test_attribute_mapping_per_integration(sp: SpUnderTest) -> None:
    user = persistent("8f14e45f-ceea-467f-a0e6-0d2c3a4b5c6d")
    user.attributes = {"mail": ["Bob@Corp.Example"], "cn": ["Bob B."], "eduPersonAffiliation": ["staff", "member"]}
    mapped = sp.with_options(mapping=SamlAttributeMapping(name=("cn",), groups=("eduPersonAffiliation",)))
    identity = accept_response(mapped.integration, mapped.respond(start(sp), user=user)).identity
    assert identity.subject == "8f14e45f-ceea-467f-a0e6-0d2c3a4b5c6d"
    assert identity.name_id_format == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert identity.email == "bob@corp.example"
    assert identity.name == "Bob B."
    assert identity.groups == ("staff", "member")
    assert identity.given_name is None


def test_email_falls_back_to_an_email_name_id_only(sp: SpUnderTest) -> None:
    no_mail = User(attributes={"givenName": ["Carol"]}, name_id="carol@corp.example")
    assert accept_response(sp.integration, sp.respond(start(sp), user=no_mail)).identity.email == "carol@corp.example"
    opaque = persistent("carol-id")
    opaque.attributes = {"givenName": ["Carol"]}
    assert accept_response(sp.integration, sp.respond(start(sp), user=opaque)).identity.email is None


# --- InResponseTo and replay ------------------------------------------------------------------------------------


def test_unknown_in_response_to_is_rejected(sp: SpUnderTest) -> None:
    assert rejected(sp, sp.respond_xml("_never_issued_by_us")) == "request_unknown"


def test_a_request_is_answered_once(sp: SpUnderTest) -> None:
    request_id = start(sp)
    accept_response(sp.integration, sp.respond(request_id))
    assert rejected(sp, sp.respond_xml(request_id)) == "request_unknown"


def test_replayed_response_is_rejected(sp: SpUnderTest) -> None:
    allowing = sp.with_options(allow_unsolicited=True)
    response = allowing.respond(None)
    accept_response(allowing.integration, response)
    with pytest.raises(SamlError) as caught:
        accept_response(allowing.integration, response)
    assert caught.value.reason == "replayed"


# --- signatures -------------------------------------------------------------------------------------------------


def test_unsigned_response_is_rejected(sp: SpUnderTest) -> None:
    xml = sp.respond_xml(start(sp), sign_response=False, sign_assertion=False)
    assert rejected(sp, xml) == "unsigned"
    assert rejected(sp, attacks.strip_signatures(sp.respond_xml(start(sp)))) == "unsigned"


def test_signature_by_another_key_is_rejected(sp: SpUnderTest, tmp_path_factory: pytest.TempPathFactory) -> None:
    impostor = SamlTestIdP(tmp_path_factory.mktemp("impostor"), entity_id=sp.idp.entity_id)
    impostor.trust_sp(sp.idp.sp_metadata[0])
    for options in ({"sign_response": True}, {"sign_response": False, "sign_assertion": True}):
        xml = impostor.response_xml(sp_entity_id=sp.entity_id, acs_url=sp.acs_url, in_response_to=start(sp), **options)
        assert rejected(sp, xml) == "signature_invalid"


@pytest.mark.parametrize("options", [{"sign_response": True}, {"sign_response": False, "sign_assertion": True}])
def test_data_changed_after_signing_is_rejected(sp: SpUnderTest, options: dict[str, bool]) -> None:
    assert rejected(sp, attacks.tamper_name_id(sp.respond_xml(start(sp), **options))) == "signature_invalid"


def test_sha1_signatures_are_refused(sp: SpUnderTest) -> None:
    xml = sp.respond_xml(start(sp), sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    assert rejected(sp, xml) == "weak_algorithm"


ASSERTION_SIGNED = {"sign_response": False, "sign_assertion": True}
RESPONSE_SIGNED = {"sign_response": True}
WRAPPING_ATTACKS = {
    "evil-assertion-before": (attacks.xsw_evil_assertion_before, ASSERTION_SIGNED),
    "evil-assertion-after": (attacks.xsw_evil_assertion_after, ASSERTION_SIGNED),
    "evil-wraps-original": (attacks.xsw_evil_wraps_original, ASSERTION_SIGNED),
    "same-id-copy-in-extensions": (
        attacks.xsw_same_id_copy_in_extensions,
        ASSERTION_SIGNED,
    ),
    "copy-in-signature-object": (
        attacks.xsw_copy_in_signature_object,
        ASSERTION_SIGNED,
    ),
    "original-in-extensions": (attacks.xsw_original_in_extensions, ASSERTION_SIGNED),
    "response-wrapper": (attacks.xsw_response_wrapper, RESPONSE_SIGNED),
    "response-signature-moved": (attacks.xsw_response_signature_moved, RESPONSE_SIGNED),
}


@pytest.mark.parametrize("attack", sorted(WRAPPING_ATTACKS))
def test_signature_wrapping_is_rejected_and_consumes_nothing(sp: SpUnderTest, attack: str) -> None:
    wrap, options = WRAPPING_ATTACKS[attack]
    request_id = start(sp)
    genuine = sp.respond_xml(request_id, **options)
    seen = dict(sp.state.assertions)
    assert rejected(sp, wrap(genuine)) in {"assertion_count", "wrapped_assertion", "duplicate_id", "wrapped_signature"}
    assert sp.state.assertions == seen
    # The rejection changed nothing: the genuine response to the same request is still accepted, for alice.
    assert accept_response(sp.integration, encode(genuine)).identity.subject == "alice@corp.example"


def _lenient_shape(root: ET.Element) -> signed_view.Shape:
    """The structural layer switched off: only says which direct children carry a signature."""
    assertions = [child for child in root if child.tag == signed_view.ASSERTION]
    response_signed = any(child.tag == signed_view.SIGNATURE for child in root)
    assertion_signed = bool(assertions) and any(child.tag == signed_view.SIGNATURE for child in assertions[0])
    return signed_view.Shape(
        root.get("ID", ""), response_signed, assertion_signed, False, assertions[0].get("ID") if assertions else None
    )


@pytest.mark.parametrize("attack", sorted(WRAPPING_ATTACKS))
def test_signature_layers_alone_also_refuse_wrapping(
    sp: SpUnderTest, attack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the structural checks disabled, pysaml2 or our xmlsec1 re-check still refuses."""
    wrap, options = WRAPPING_ATTACKS[attack]
    genuine = sp.respond_xml(start(sp), **options)
    monkeypatch.setattr(responses, "check_shape", _lenient_shape)
    assert rejected(sp, wrap(genuine)) in {"signature_invalid", "rejected"}


def test_comment_injected_name_id_is_rejected(sp: SpUnderTest) -> None:
    user = User(name_id="alice@corp.example.evil.test", attributes={"givenName": ["Mallory"]})
    for options in ({"sign_response": True}, {"sign_response": False, "sign_assertion": True}):
        genuine = sp.respond_xml(start(sp), user=user, **options)
        assert rejected(sp, attacks.comment_in_name_id(genuine, keep=len("alice@corp.example"))) == "comment_injection"


# --- who, where, when -------------------------------------------------------------------------------------------


def test_wrong_audience_is_rejected(sp: SpUnderTest) -> None:
    # A response the IdP made for another SP (here: another integration of the tenant), posted to our ACS.
    other = replace(sp.integration, name="other")
    sp.idp.trust_sp(sp_metadata_xml(other))
    xml = sp.respond_xml(start(sp), audience=sp_config.sp_entity_id(other))
    assert rejected(sp, xml) == "wrong_audience"


def test_wrong_destination_is_rejected(sp: SpUnderTest) -> None:
    xml = sp.idp.response_xml(
        sp_entity_id=sp.entity_id, acs_url="https://evil.example/acs", in_response_to=start(sp), sign_response=True
    )
    assert rejected(sp, xml) == "wrong_destination"


def test_wrong_recipient_is_rejected(sp: SpUnderTest) -> None:
    # Only the assertion is signed, so the attacker may fix the (unsigned) Destination; the signed Recipient stays.
    xml = sp.idp.response_xml(
        sp_entity_id=sp.entity_id,
        acs_url="https://evil.example/acs",
        in_response_to=start(sp),
        sign_response=False,
        sign_assertion=True,
    )
    assert rejected(sp, attacks.set_response_attribute(xml, "Destination", sp.acs_url)) == "wrong_recipient"


def test_wrong_issuer_is_rejected(sp: SpUnderTest, tmp_path_factory: pytest.TempPathFactory) -> None:
    same_key = SamlTestIdP(tmp_path_factory.mktemp("other"), entity_id="https://other-idp.example", keys_from=sp.idp)
    same_key.trust_sp(sp.idp.sp_metadata[0])
    xml = same_key.response_xml(sp_entity_id=sp.entity_id, acs_url=sp.acs_url, in_response_to=start(sp))
    assert rejected(sp, xml) == "wrong_issuer"


def test_expired_assertion_is_rejected(sp: SpUnderTest) -> None:
    xml = sp.respond_xml(start(sp))
    clock.advance(MAX_ASSERTION_AGE_SECONDS + CLOCK_SKEW_SECONDS + 60)
    assert rejected(sp, xml) == "expired"


def test_assertion_from_the_future_is_rejected(sp: SpUnderTest) -> None:
    xml = sp.respond_xml(start(sp))
    clock.advance(-(CLOCK_SKEW_SECONDS + 60))
    assert rejected(sp, xml) == "not_yet_valid"


def test_small_clock_skew_is_tolerated(sp: SpUnderTest) -> None:
    xml = sp.respond_xml(start(sp))
    clock.advance(-(CLOCK_SKEW_SECONDS - 30))
    assert accept_response(sp.integration, encode(xml)).identity.subject == "alice@corp.example"


def test_idp_error_status_is_rejected(sp: SpUnderTest) -> None:
    from saml2.samlp import STATUS_AUTHN_FAILED

    response = sp.idp.server.create_error_response(
        start(sp), destination=sp.acs_url, info=(STATUS_AUTHN_FAILED, "no"), sign=True
    )
    assert rejected(sp, str(response)) == "idp_status"


# --- hardened parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("subset", [attacks.BILLION_LAUGHS, attacks.EXTERNAL_ENTITY, ""], ids=["laughs", "xxe", "dtd"])
def test_dtds_and_entities_are_refused_before_parsing(sp: SpUnderTest, subset: str) -> None:
    assert rejected(sp, attacks.with_doctype(sp.respond_xml(start(sp)), subset)) == "dtd_forbidden"


def test_oversize_message_is_refused_before_decoding(sp: SpUnderTest) -> None:
    big = base64.b64encode(b"<x>" + b"a" * 50_000 + b"</x>").decode()
    assert rejected(sp, big, encoded=True) == "oversize"


def test_only_utf8_documents_are_parsed(sp: SpUnderTest) -> None:
    genuine = sp.respond_xml(start(sp))
    body = genuine.split("?>", 1)[1] if genuine.startswith("<?xml") else genuine
    as_utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
    assert rejected(sp, base64.b64encode(as_utf16).decode(), encoded=True) == "malformed"
    declared_latin1 = ('<?xml version="1.0" encoding="ISO-8859-1"?>' + body).encode("latin-1")
    assert rejected(sp, base64.b64encode(declared_latin1).decode(), encoded=True) == "malformed"


@pytest.mark.parametrize("value", ["", "%%%not-base64%%%", base64.b64encode(b"<not-closed").decode()])
def test_malformed_messages_are_rejected(sp: SpUnderTest, value: str) -> None:
    assert rejected(sp, value, encoded=True) in {"missing_response", "malformed"}


@pytest.mark.parametrize(
    ("options", "reason"),
    [({"block_cipher": TRIPLE_DES_CBC}, "weak_algorithm"), ({"key_transport": RSA_1_5}, "weak_algorithm")],
    ids=["3des", "rsa-1_5"],
)
def test_weak_encryption_is_refused(sp: SpUnderTest, options: dict[str, str], reason: str) -> None:
    assert rejected(sp, sp.respond_xml(start(sp), encrypted=True, **options)) == reason
