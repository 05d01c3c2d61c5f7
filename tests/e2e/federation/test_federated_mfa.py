"""A federated sign-in passes the same gates as a password sign-in: the tier's MFA policy (a challenge for a user
with a factor, enrollment for one without), the upstream's own multi-factor assertion counted as the second factor
(RFC 8176 ``mfa`` in the upstream ID token), and the risk policy (a deny-listed network is refused, with a
``signin.failure`` event). The upstream is a second Gatehouse tenant, over real HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pyotp
import pytest
import requests
from jose import jwt

from tests.support.federation import Bed, Walker, code_of, make_bed, upstream_user
from tests.support.oidc_client import Page

pytestmark = pytest.mark.stack
TIMEOUT = 15


@pytest.fixture
def bed(live_server: str) -> Bed:
    return make_bed(live_server)


def _set_tenant_settings(slug: str, settings: dict[str, Any]) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tree = container.tenants().tree(slug)
    container.tenants().update_node(TenantId(slug), tree.root.node_id, settings=settings)


def _enroll_totp(tenant: str, email: str, clock: Any) -> str:
    """An active authenticator-app factor for the account, confirmed with a real code; its secret."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(tenant)
    user = container.accounts().find_by_email(tenant_id, email)
    setup = container.mfa().begin_totp(tenant_id, user, issuer="test")
    code = pyotp.TOTP(setup.secret).at(clock.now())
    container.mfa().verify(
        tenant_id, user, setup.challenge.challenge_id, "totp", code, container.tenants().effective(tenant_id)
    )
    clock.advance(30)  # the confirming time step can never be used again
    return setup.secret


def _id_token(bed: Bed, response: requests.Response) -> dict[str, Any]:
    return dict(jwt.get_unverified_claims(bed.exchange(code_of(bed, response))["id_token"]))


def _answer_challenge(walker: Walker, page_response: requests.Response, code: str) -> requests.Response:
    page = Page.parse(page_response)
    assert page.has_form("/mfa/challenge"), f"expected the challenge page, got {page.status}: {page.h1!r}"
    form = page.form("/mfa/challenge")
    posted = walker.browser.post(
        urljoin(page_response.url, form.action),
        data={**form.fields, "code": code},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    return walker.follow(posted)


def test_required_mfa_challenges_a_federated_user_with_a_factor(bed: Bed, clock: Any) -> None:
    email, password = upstream_user(bed)
    assert _id_token(bed, Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password))["amr"] == ["fed"]
    secret = _enroll_totp(bed.tenant, email, clock)
    _set_tenant_settings(bed.tenant, {"mfa": {"mode": "required"}})

    walker = Walker(bed)
    stopped = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    assert stopped.status_code == 200  # the challenge page, not a code
    done = _answer_challenge(walker, stopped, pyotp.TOTP(secret).at(clock.now()))
    claims = _id_token(bed, done)
    assert claims["amr"] == ["fed", "otp", "mfa"]


def test_required_mfa_sends_a_federated_user_without_a_factor_to_enrollment(bed: Bed) -> None:
    email, password = upstream_user(bed)
    _set_tenant_settings(bed.tenant, {"mfa": {"mode": "required"}})
    walker = Walker(bed)
    stopped = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    page = Page.parse(stopped)
    assert stopped.status_code == 200 and "enroll-methods" in page.html, page.h1
    assert "Location" not in stopped.headers  # no code for the relying party


def test_acr_values_step_up_applies_to_federated_sign_ins(bed: Bed, clock: Any) -> None:
    from chalicelib.services.step_up import ACR_MFA

    email, password = upstream_user(bed)
    Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)
    secret = _enroll_totp(bed.tenant, email, clock)
    walker = Walker(bed)
    stopped = walker.sign_in(bed.authorize_params(idp="up", acr_values=ACR_MFA), email, password)
    done = _answer_challenge(walker, stopped, pyotp.TOTP(secret).at(clock.now()))
    assert _id_token(bed, done)["acr"] == ACR_MFA


def test_an_upstream_multi_factor_sign_in_counts_as_the_second_factor(bed: Bed, clock: Any) -> None:
    email, password = upstream_user(bed)
    Walker(bed).sign_in(bed.authorize_params(idp="up"), email, password)  # provisions the downstream account
    upstream_secret = _enroll_totp(bed.upstream, email, clock)
    _set_tenant_settings(bed.upstream, {"mfa": {"mode": "required"}})
    _set_tenant_settings(bed.tenant, {"mfa": {"mode": "required"}})

    walker = Walker(bed)
    at_upstream = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    assert f"/t/{bed.upstream}/" in at_upstream.url  # the upstream's own challenge
    done = _answer_challenge(walker, at_upstream, pyotp.TOTP(upstream_secret).at(clock.now()))
    assert _id_token(bed, done)["amr"] == ["fed", "mfa"]  # no second challenge downstream


def test_the_risk_policy_refuses_a_federated_sign_in_from_a_denied_network(bed: Bed, live_server: str) -> None:
    email, password = upstream_user(bed)
    _set_tenant_settings(bed.tenant, {"risk": {"ip_deny": ["127.0.0.0/8"]}})
    walker = Walker(bed)
    refused = walker.sign_in(bed.authorize_params(idp="up"), email, password)
    assert refused.status_code == 403
    assert "blocked for your protection" in Page.parse(refused).text
    assert "Location" not in refused.headers  # no code for the relying party
    failures = _events(bed, "signin.failure")
    assert failures and failures[0]["details"]["method"] == "federated:up"
    assert failures[0]["details"]["reason"] == "risk_blocked"


def _events(bed: Bed, action: str) -> list[dict[str, Any]]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    events, _ = container.audit().list(TenantId(bed.tenant), action=action)
    return [{"details": dict(e.details), "action": e.action} for e in events]
