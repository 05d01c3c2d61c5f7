"""Adaptive authentication in the native API: failed passwords feed the sign-in events and the stuffing counters,
and the risk decision either refuses the flow with a typed error or travels in the flow token (``risk``, ``rk``)
to the second-factor step and to completion, where the sign-in is remembered and recorded."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import AccountDisabled, AccountNotVerified, InvalidCredentials, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.authentication import PasswordAuthentication
from chalicelib.web.authn.errors import SignInRefused
from chalicelib.web.http import HttpRequest
from chalicelib.web.oidc import risk_gate
from chalicelib.web.oidc.signin_activity import record_failure, sign_in_context

REASONS: tuple[tuple[type[Exception], str], ...] = (
    (InvalidCredentials, "invalid_credentials"),
    (RateLimited, "rate_limited"),
    (AccountNotVerified, "unverified"),
    (AccountDisabled, "disabled"),
)


def authenticate(
    http: HttpRequest, tenant_id: TenantId, client: Client, email: str, password: str, settings: EffectiveSettings
) -> PasswordAuthentication:
    """The password check, with a ``signin.failure`` event (and stuffing counters) when it fails."""
    try:
        return container.password_authenticator().authenticate(
            tenant_id,
            email,
            password,
            ip=http.source_ip,
            settings=settings,
            with_risk_profile=risk_gate.reads_history(settings),
        )
    except Exception as error:
        reason = next((name for kind, name in REASONS if isinstance(error, kind)), None)
        if reason is not None:
            context = sign_in_context(http, client.client_id)
            record_failure(tenant_id, email, reason, context, error if reason != "rate_limited" else None)
            if reason == "invalid_credentials":
                risk_gate.count_failed_sign_in(http, tenant_id, email, settings)
        raise


def refuse_unless_allowed(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    user: User,
    gated: risk_gate.GatedSignIn,
    settings: EffectiveSettings,
) -> None:
    if risk_gate.can_continue(gated, user, settings):
        return
    blocked = gated.decision == "block"
    reason = "risk_blocked" if blocked else "risk_second_factor_unavailable"
    risk_gate.record_refusal(http, tenant_id, client, user, gated, reason=reason)
    if blocked:
        raise SignInRefused(detail="risk policy: block")
    raise SignInRefused(
        "This sign-in looks unusual and needs a second factor, but none is set up for this account.",
        code="second_factor_unavailable",
        detail="risk policy: mfa without a usable factor",
    )


def carried(claims: dict[str, Any]) -> dict[str, Any]:
    """The risk decision and sealed attempt of a flow token, to seal into the next one."""
    return {key: claims[key] for key in ("risk", "rk") if key in claims}
