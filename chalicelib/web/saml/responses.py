"""The ACS decision: a posted SAML Response becomes a validated identity, or a SamlError naming why not.

Order: size and DTD checks before parsing, the Status, the document's shape (``signed_view``), then pysaml2's own
validation (signature against the IdP certificate from the integration's metadata, conditions, destination,
audience, decryption with the SP key). Then a cross-check that does not trust pysaml2's choice of element: the
element we located by its ID reference is verified again with xmlsec1 against the metadata certificates, and every
datum is read from it alone with our own clock (``assertions``); pysaml2's NameID and assertion ID must agree.
Only then are the assertion ID (replay cache) and the request ID (single use) written, each by a conditional put.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.saml import SamlIdentity, SamlIntegrationConfig
from chalicelib.web.errors import SamlError
from chalicelib.web.saml.assertions import Expected, check_status, read_identity
from chalicelib.web.saml.signed_view import ASSERTION, RESPONSE, Shape, check_shape, signed_assertion
from chalicelib.web.saml.sp_config import (
    SpFiles,
    acs_url,
    build_client,
    idp_entity_id,
    idp_signing_certificates,
    sp_entity_id,
    sp_files,
    sp_keys,
    tune_pysaml2,
    xmlsec_binary,
)
from chalicelib.web.saml.xml_guard import decode_message, parse

log = logging.getLogger("gatehouse.saml")

PYSAML2_REASONS = {
    "SignatureError": "signature_invalid",
    "IncorrectlySigned": "signature_invalid",
    "MissingKey": "signature_invalid",
    "BadSignature": "signature_invalid",
    "DecryptError": "decryption_failed",
    "DecryptionFailed": "decryption_failed",
    "UnsolicitedResponse": "unsolicited_not_allowed",
    "ResponseLifetimeExceed": "expired",
    "ToEarly": "not_yet_valid",
}


@dataclass(frozen=True)
class AcceptedLogin:
    """A validated response: the identity, and the pending authorization flow it answers (None if unsolicited)."""

    identity: SamlIdentity
    flow: dict[str, Any] | None


def accept_response(integration: SamlIntegrationConfig, saml_response: str | None) -> AcceptedLogin:
    """Validate a posted ``SAMLResponse`` (base64) for ``integration``; raises SamlError naming the broken rule."""
    xml = decode_message(saml_response)
    root = parse(xml)
    check_status(root)
    shape = check_shape(root)
    with sp_files(sp_keys(integration)) as files:
        client = build_client(integration, files)
        idp = idp_entity_id(client)
        certificates = idp_signing_certificates(client, idp)
        if shape.response_signed:
            _verify(files, xml, certificates, RESPONSE, shape.response_id)
        document, response_root, assertion, assertion_signed = _located_assertion(client, files, xml, root, shape)
        if assertion_signed:
            _verify(files, document, certificates, ASSERTION, assertion.get("ID", ""))
        expected = Expected(idp, sp_entity_id(integration), acs_url(integration), clock.now(), shape.response_signed)
        identity, valid_until = read_identity(response_root, assertion, expected, integration.mapping)
        if identity.in_response_to is None and not integration.allow_unsolicited:
            raise SamlError("unsolicited_not_allowed", "IdP-initiated login is not enabled for this integration")
        parsed = _pysaml2_validate(client, saml_response or "", identity.in_response_to)
        _cross_check(parsed, identity)
    sp = container.saml_sp()
    try:
        sp.remember_assertion(integration.tenant_id, idp, identity.assertion_id, valid_until=valid_until)
    except CodeInvalid as error:
        raise SamlError("replayed", "assertion ID seen before") from error
    if identity.in_response_to is None:
        return AcceptedLogin(identity, None)
    try:
        request = sp.consume_request(integration.tenant_id, integration.name, identity.in_response_to)
    except CodeInvalid as error:
        raise SamlError("request_unknown", "InResponseTo is not an open request of ours") from error
    return AcceptedLogin(identity, request.flow)


def _pysaml2_validate(client: Any, encoded: str, in_response_to: str | None) -> Any:
    """pysaml2's own full validation of the same message (signature, conditions, destination, audience, ...)."""
    from saml2 import BINDING_HTTP_POST

    # The request ID is checked for real (issued by us, unexpired, unanswered) by a conditional write afterwards.
    outstanding = {in_response_to: "pending"} if in_response_to else {}
    try:
        parsed = client.parse_authn_request_response(encoded, BINDING_HTTP_POST, outstanding=outstanding)
    except SamlError:
        raise
    except Exception as error:  # pysaml2 raises a zoo of types; each is a rejection
        name = type(error).__name__
        reason = PYSAML2_REASONS.get(name, "idp_status" if name.startswith("Status") else "rejected")
        raise SamlError(reason, f"pysaml2 {name}: {str(error)[:300]}") from error
    if parsed is None or parsed.assertion is None:
        raise SamlError("rejected", "pysaml2 returned no assertion")
    return parsed


def _located_assertion(
    client: Any, files: SpFiles, xml: bytes, root: ET.Element, shape: Shape
) -> tuple[bytes, ET.Element, ET.Element, bool]:
    """(document holding the assertion, its Response root, the assertion, whether the assertion is itself signed)."""
    if not shape.encrypted:
        assertions = [child for child in root if child.tag == ASSERTION]
        return xml, root, assertions[0], shape.assertion_signed
    try:
        decrypted = client.sec.decrypt(xml.decode("utf-8"), key_file=files.key_file)
    except Exception as error:  # xmlsec1 failed: wrong key, corrupted or tampered ciphertext
        raise SamlError("decryption_failed", type(error).__name__) from error
    document = decrypted.encode("utf-8") if isinstance(decrypted, str) else bytes(decrypted)
    decrypted_root = parse(document)
    assertion, own_signature = signed_assertion(decrypted_root, shape)
    return document, decrypted_root, assertion, own_signature


def _verify(files: SpFiles, document: bytes, certificates: list[str], node_name: str, node_id: str) -> None:
    """xmlsec1 verification of the element with ID ``node_id`` against a metadata certificate (x509 keys only)."""
    from saml2.sigver import CryptoBackendXmlSec1

    tune_pysaml2()
    backend = CryptoBackendXmlSec1(xmlsec_binary(), delete_tmpfiles=True)
    id_attr_node = node_name.lstrip("{").replace("}", ":")  # xmlsec1 --id-attr wants "namespace:localname"
    for index, certificate in enumerate(certificates):
        cert_file = files.write(f"idp-{node_id[:16]}-{index}-{len(document)}.pem", certificate)
        try:
            if backend.validate_signature(document, cert_file, "pem", id_attr_node, node_id):
                return
        except Exception as error:  # noqa: BLE001 - xmlsec1 exits non-zero for a bad signature
            log.info("saml signature check failed with one certificate: %s", type(error).__name__)
    raise SamlError("signature_invalid", f"{node_name.rsplit('}', 1)[-1]} signature does not verify")


def _cross_check(parsed: Any, identity: SamlIdentity) -> None:
    """pysaml2 and our reading of the signed element must agree on who this is and which assertion it was."""
    name_id = getattr(parsed, "name_id", None)
    theirs = (getattr(name_id, "text", "") or "").strip()
    assertion_id = getattr(parsed.assertion, "id", "")
    if theirs != identity.subject or assertion_id != identity.assertion_id:
        raise SamlError("inconsistent", "pysaml2 and the signed element disagree on the subject or assertion")
