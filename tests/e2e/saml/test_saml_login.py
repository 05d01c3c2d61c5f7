"""SAML sign-in end to end over real HTTP: ``demo-web`` authorizes with ``?idp=``, the browser is sent to the
test IdP (pysaml2's own IdP, xmlsec1 signatures) with our signed AuthnRequest, the IdP's answer is posted to our
ACS, the federation seam provisions the account and the relying party gets its code and tokens. Also the login
page button, IdP-initiated login, and rejections over HTTP (error page, audit event, nothing provisioned)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from jose import jwt

from tests.support import saml_attacks as attacks
from tests.support.oidc_client import pkce_pair, query_params, strip_query
from tests.support.saml_idp import SamlTestIdP, User, encode

TIMEOUT = 30


class Browser:
    """A cookie-keeping user agent following redirects one at a time; the IdP is in-process (its SSO URL is not
    served), so the test hands the AuthnRequest to it and posts its answer like the IdP's auto-submit form."""

    def __init__(self, demo: dict[str, Any], idp: SamlTestIdP) -> None:
        self.session = requests.Session()
        self.demo = demo
        self.idp = idp
        self.trail: list[str] = []

    def get(self, url: str) -> requests.Response:
        self.trail.append(url)
        return self.session.get(url, allow_redirects=False, timeout=TIMEOUT)

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects until the IdP or the relying party's redirect URI is reached (that one is returned),
        polling the provisioning interstitial (202 with a meta refresh) like a browser without JavaScript."""
        deadline = time.monotonic() + 60
        while response.status_code in (302, 303) or (response.status_code == 202 and "refresh" in response.text):
            if response.status_code == 202:
                assert time.monotonic() < deadline, "provisioning did not finish"
                time.sleep(0.3)
                response = self.get(response.url)
                continue
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.idp.sso_url) or strip_query(location) == strip_query(self.demo["callback"]):
                return response
            response = self.get(location)
        return response

    def post_to_acs(self, acs_url: str, saml_response: str, relay_state: str | None) -> requests.Response:
        data = {"SAMLResponse": saml_response, **({"RelayState": relay_state} if relay_state is not None else {})}
        self.trail.append(acs_url)
        return self.session.post(acs_url, data=data, allow_redirects=False, timeout=TIMEOUT)

    def at_idp(self, response: requests.Response, user: User | None = None, **options: Any) -> requests.Response:
        """The IdP receives our redirect, signs the user in and posts its Response to the ACS it was asked for."""
        assert response.status_code in (302, 303), response.text[:400]
        location = response.headers["Location"]
        request = self.idp.receive_redirect(location)
        relay_state = query_params(location).get("RelayState")
        answer = self.idp.response(
            sp_entity_id=request.issuer.text,
            acs_url=request.assertion_consumer_service_url,
            in_response_to=request.id,
            user=user,
            **options,
        )
        return self.post_to_acs(request.assertion_consumer_service_url, answer, relay_state)


@pytest.fixture
def integration(
    demo: dict[str, Any], idp: SamlTestIdP, gatehouse: Callable[..., dict[str, Any]], tmp_path: Path
) -> dict[str, Any]:
    """A SAML integration of the demo tenant registered with the CLI; the IdP loads its SP metadata by URL."""
    name = f"corp-{uuid.uuid4().hex[:6]}"
    metadata = tmp_path / "idp.xml"
    metadata.write_text(idp.metadata_xml())
    added = gatehouse("idp", "add-saml", "--tenant", "demo", "--name", name, "--metadata", str(metadata))
    _set_mapping(
        name, {"groups": "isMemberOf"}, display_name=f"Corp SSO {name[-6:]}", role_mapping={"engineering": ["engineer"]}
    )
    idp.trust_sp(requests.get(added["metadata_url"], timeout=TIMEOUT).text)
    return {"name": name, **added}


def _set_mapping(name: str, mapping: dict[str, str], **changes: Any) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    container.identity_providers().update(TenantId("demo"), name, {"attribute_mapping": mapping, **changes})


def _authorize(demo: dict[str, Any], **extra: str) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": demo["web_client_id"],
        "redirect_uri": demo["callback"],
        "scope": "openid email profile",
        "state": uuid.uuid4().hex,
        "nonce": uuid.uuid4().hex,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{demo['issuer']}/authorize?" + requests.compat.urlencode(params), verifier


def _tokens(demo: dict[str, Any], response: requests.Response, verifier: str) -> dict[str, Any]:
    assert response.status_code in (302, 303), f"{response.status_code}: {response.text[:400]}"
    code = query_params(response.headers["Location"])["code"]
    exchanged = requests.post(
        f"{demo['issuer']}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": demo["callback"],
            "code_verifier": verifier,
        },
        auth=(demo["web_client_id"], demo["web_client_secret"]),
        timeout=TIMEOUT,
    )
    assert exchanged.status_code == 200, exchanged.text
    return dict(exchanged.json())


def _user(email: str) -> Any:
    from chalicelib import container
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    try:
        return container.accounts().find_by_email(TenantId("demo"), email)
    except NotFound:
        return None


def _fresh_user() -> User:
    email = f"{uuid.uuid4().hex[:8]}@corp.example"
    return User(
        name_id=email,
        attributes={
            "mail": [email],
            "givenName": ["Ada"],
            "sn": ["Lovelace"],
            "displayName": ["Ada Lovelace"],
            "isMemberOf": ["engineering"],
        },
    )


@pytest.mark.parametrize(
    "options",
    [{"sign_response": True}, {"sign_response": False, "sign_assertion": True, "encrypted": True}],
    ids=["signed-response", "encrypted-signed-assertion"],
)
def test_demo_web_signs_in_through_the_saml_idp(
    demo: dict[str, Any], idp: SamlTestIdP, integration: dict[str, Any], options: dict[str, bool]
) -> None:
    user = _fresh_user()
    browser = Browser(demo, idp)
    url, verifier = _authorize(demo, idp=integration["name"])
    to_idp = browser.get(url)
    assert to_idp.headers["Location"].startswith(idp.sso_url)
    at_acs = browser.at_idp(to_idp, user, **options)
    assert at_acs.status_code == 303 and "/federation/logins/" in at_acs.headers["Location"]
    tokens = _tokens(demo, browser.follow(at_acs), verifier)
    claims = jwt.get_unverified_claims(tokens["id_token"])
    account = _user(user.name_id)
    assert account is not None and claims["sub"] == account.user_id
    assert claims["email"] == user.name_id and claims["email_verified"] is True
    assert (claims["given_name"], claims["family_name"], claims["name"]) == ("Ada", "Lovelace", "Ada Lovelace")
    userinfo = requests.get(
        f"{demo['issuer']}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=TIMEOUT
    )
    assert userinfo.status_code == 200 and userinfo.json()["email"] == user.name_id
    # The workflow recorded the link to the SAML subject with the mapped groups and the roles they confer.
    from chalicelib.storage.federation_repository import DynamoFederatedIdentityRepository

    link = DynamoFederatedIdentityRepository().get(account.tenant_id, integration["name"], user.name_id)
    assert link is not None and link.user_id == account.user_id
    assert link.groups == ("engineering",) and link.roles == ("engineer",)


def test_login_page_button_starts_the_saml_login(
    demo: dict[str, Any], idp: SamlTestIdP, integration: dict[str, Any]
) -> None:
    browser = Browser(demo, idp)
    url, verifier = _authorize(demo)
    page = browser.follow(browser.get(url))
    assert page.status_code == 200
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', page.text)]
    start = [link for link in links if f"/federation/{integration['name']}/start" in link]
    assert len(start) == 1, links
    to_idp = browser.get(urljoin(page.url, start[0]))
    user = _fresh_user()
    tokens = _tokens(demo, browser.follow(browser.at_idp(to_idp, user)), verifier)
    assert jwt.get_unverified_claims(tokens["id_token"])["email"] == user.name_id


def test_idp_initiated_login_only_where_the_integration_allows_it(
    demo: dict[str, Any], idp: SamlTestIdP, integration: dict[str, Any]
) -> None:
    user = _fresh_user()
    browser = Browser(demo, idp)
    unsolicited = idp.response(
        sp_entity_id=integration["sp_entity_id"], acs_url=integration["acs_url"], in_response_to=None, user=user
    )
    refused = browser.post_to_acs(integration["acs_url"], unsolicited, None)
    assert refused.status_code == 400 and "unsolicited_not_allowed" in refused.text
    assert _user(user.name_id) is None

    from chalicelib import container
    from chalicelib.core.ids import TenantId

    integration_record = container.identity_providers().get(TenantId("demo"), integration["name"])
    assert integration_record.saml is not None
    container.identity_providers().update(
        TenantId("demo"),
        integration["name"],
        {"saml": {"metadata": integration_record.saml.metadata_xml, "allow_unsolicited": True}},
    )
    again = idp.response(
        sp_entity_id=integration["sp_entity_id"], acs_url=integration["acs_url"], in_response_to=None, user=user
    )
    accepted = browser.post_to_acs(integration["acs_url"], again, None)
    assert accepted.status_code == 303, accepted.text[:400]
    landed = browser.follow(accepted)
    assert landed.status_code == 200
    assert _user(user.name_id) is not None


def test_rejected_responses_show_an_error_page_are_audited_and_provision_nothing(
    demo: dict[str, Any], idp: SamlTestIdP, integration: dict[str, Any]
) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    browser = Browser(demo, idp)
    url, _ = _authorize(demo, idp=integration["name"])
    to_idp = browser.get(url)
    location = to_idp.headers["Location"]
    request = idp.receive_redirect(location)
    relay_state = query_params(location)["RelayState"]
    user = _fresh_user()
    genuine = idp.response_xml(
        sp_entity_id=integration["sp_entity_id"],
        acs_url=integration["acs_url"],
        in_response_to=request.id,
        user=user,
        sign_response=False,
        sign_assertion=True,
    )
    for attack, reason in (
        (attacks.xsw_evil_wraps_original(genuine), "assertion_count"),
        (attacks.tamper_name_id(genuine), "signature_invalid"),
        (attacks.with_doctype(genuine, attacks.EXTERNAL_ENTITY), "dtd_forbidden"),
    ):
        rejected = browser.post_to_acs(integration["acs_url"], encode(attack), relay_state)
        assert rejected.status_code == 400
        assert rejected.headers["Content-Type"].startswith("text/html")
        assert reason in rejected.text and "Traceback" not in rejected.text
    assert _user(user.name_id) is None and _user(attacks.EVIL) is None
    events, _ = container.audit().list(TenantId("demo"), action="federation.saml_rejected")
    reasons = {e.details.get("reason") for e in events if e.target_id == integration["name"]}
    assert {"assertion_count", "signature_invalid", "dtd_forbidden"} <= reasons

    # The genuine answer still works once; posting it again is a replay.
    accepted = browser.post_to_acs(integration["acs_url"], encode(genuine), relay_state)
    assert accepted.status_code == 303
    replayed = browser.post_to_acs(integration["acs_url"], encode(genuine), relay_state)
    assert replayed.status_code == 400 and "replayed" in replayed.text
    assert browser.get(integration["acs_url"]).status_code == 405
    oversize = browser.post_to_acs(integration["acs_url"], "A" * 60_004, relay_state)
    assert oversize.status_code == 413 and "oversize" in oversize.text


def test_prompt_login_sends_force_authn_and_refuses_a_reused_idp_session(
    demo: dict[str, Any], idp: SamlTestIdP, integration: dict[str, Any]
) -> None:
    """``prompt=login`` reaches the IdP as ``ForceAuthn="true"``; an answer whose AuthnInstant predates the request
    (the IdP did not authenticate again) ends on the error page and signs nobody in; a fresh one signs in."""
    user = _fresh_user()
    browser = Browser(demo, idp)
    url, verifier = _authorize(demo, idp=integration["name"], prompt="login")
    to_idp = browser.get(url)
    assert idp.receive_redirect(to_idp.headers["Location"]).force_authn == "true"
    stale = browser.at_idp(to_idp, user, authn_instant=int(time.time()) - 3600)
    assert stale.status_code == 400 and "did not ask you to sign in again" in stale.text
    assert _user(user.name_id) is None

    url, verifier = _authorize(demo, idp=integration["name"], prompt="login")
    tokens = _tokens(demo, browser.follow(browser.at_idp(browser.get(url), user)), verifier)
    assert jwt.get_unverified_claims(tokens["id_token"])["sub"] == _user(user.name_id).user_id
    url, _ = _authorize(demo, idp=integration["name"])
    plain = browser.session.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert "code=" in plain.headers["Location"]  # without prompt=login the session answers, no IdP round trip
