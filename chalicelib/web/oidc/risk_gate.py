"""Adaptive authentication at the protocol edge: what the request says about a sign-in or refresh (device cookie,
CloudFront viewer location, source IP), the risk service's decision, and the sign-in events that record it.

The device cookie is a long-lived JWS (tenant ES256 key, its own ``typ`` and audience, so it never passes as a
token) naming a random device id; only a digest of the id reaches the risk history and the events. The location
comes from CloudFront's viewer headers, which CloudFront sets itself (the API must only be reachable through it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, Client, Grant, User
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, new_id
from chalicelib.core.risk import Attempt, HistoryUpdate, Location, RiskProfile, parse_location
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.authentication import PasswordAuthentication
from chalicelib.services.risk import SignInRisk, details_of, device_digest, is_breached
from chalicelib.services.tokens import issuer_url
from chalicelib.web.http import HttpRequest, cookie
from chalicelib.web.oidc.urls import cookie_path

log = logging.getLogger(__name__)

DEVICE_COOKIE = "gh_did"
DEVICE_TYP = "gh-device+jwt"
DEVICE_AUDIENCE = "urn:gatehouse:device"
DEVICE_SECONDS = 400 * 86400  # browsers cap cookie lifetimes at 400 days
SIGNIN_FAILURE = "signin.failure"
MAX_DEVICE_ID = 64


@dataclass
class GatedSignIn:
    """An assessed sign-in and the cookies the response must set (a freshly issued device cookie)."""

    risk: SignInRisk
    device: str
    cookies: list[str] = field(default_factory=list)

    @property
    def decision(self) -> str:
        return self.risk.assessment.decision

    def carry(self) -> dict[str, Any]:
        """What the sealed second-factor state carries so the sign-in can be remembered and recorded at its end."""
        attempt = self.risk.attempt
        place = attempt.location
        return {
            "rk": {
                "t": attempt.now,
                "ip": attempt.ip,
                "loc": [place.latitude, place.longitude] if place else None,
                "c": attempt.country,
                "d": attempt.device,
                "det": details_of(self.risk.assessment),
            }
        }


def location_of(http: HttpRequest) -> tuple[Location | None, str]:
    headers = http.headers
    return parse_location(
        headers.get("cloudfront-viewer-latitude"),
        headers.get("cloudfront-viewer-longitude"),
        headers.get("cloudfront-viewer-country"),
    )


def browser_device(http: HttpRequest, tenant_id: TenantId) -> tuple[str, str | None]:
    """(device id, Set-Cookie or None): the browser's signed device id, minted when missing or invalid."""
    value = http.cookies().get(DEVICE_COOKIE, "")
    if value:
        try:
            claims = container.tokens().verify(tenant_id, value, typ=DEVICE_TYP, audience=DEVICE_AUDIENCE)
            device_id = claims.get("sub")
            if isinstance(device_id, str) and 0 < len(device_id) <= MAX_DEVICE_ID:
                return device_id, None
        except TokenInvalid:
            pass
    device_id, now = new_id(16), clock.now()
    claims = {"iss": issuer_url(tenant_id), "sub": device_id, "aud": DEVICE_AUDIENCE, "iat": now}
    sealed = container.tokens().sign(tenant_id, {**claims, "exp": now + DEVICE_SECONDS}, alg="ES256", typ=DEVICE_TYP)
    return device_id, cookie(DEVICE_COOKIE, sealed, path=cookie_path(tenant_id), max_age=DEVICE_SECONDS)


def assess_password_sign_in(
    http: HttpRequest,
    tenant_id: TenantId,
    result: PasswordAuthentication,
    password: str,
    settings: EffectiveSettings,
    *,
    device_id: str | None = None,
) -> GatedSignIn:
    """Assess a sign-in whose password verified. ``device_id``: the native API's; else the browser cookie's."""
    return _assess(
        http,
        tenant_id,
        result.user,
        settings,
        device_id,
        account_failures=result.account_failures,
        ip_failures=result.ip_failures,
        breached_password=is_breached(password),
        profile=result.risk_profile,
    )


def assess_federated_sign_in(
    http: HttpRequest, tenant_id: TenantId, user: User, settings: EffectiveSettings
) -> GatedSignIn:
    """Assess a browser sign-in an upstream identity provider vouched for: the same device, place, time and
    deny-list signals as a password sign-in (the upstream owns the password, so there is no breach check)."""
    return _assess(http, tenant_id, user, settings, None)


def _assess(
    http: HttpRequest,
    tenant_id: TenantId,
    user: User,
    settings: EffectiveSettings,
    device_id: str | None,
    *,
    account_failures: int = 0,
    ip_failures: int = 0,
    breached_password: bool = False,
    profile: RiskProfile | None = None,
) -> GatedSignIn:
    cookies: list[str] = []
    if device_id is None:
        device_id, device_cookie = browser_device(http, tenant_id)
        cookies = [device_cookie] if device_cookie else []
    location, country = location_of(http)
    attempt = Attempt(
        now=clock.now(),
        ip=http.source_ip,
        location=location,
        country=country,
        device=device_digest(device_id[:MAX_DEVICE_ID]),
        account_failures=account_failures,
        ip_failures=ip_failures,
        breached_password=breached_password,
    )
    risk = container.risk().assess_sign_in(tenant_id, user.user_id, attempt, settings, profile=profile)
    return GatedSignIn(risk, attempt.device, cookies)


def reads_history(settings: EffectiveSettings) -> bool:
    """Whether assessing a sign-in needs the user's history: the password check then fetches it with the user."""
    return bool(settings.get("risk", "enabled"))


def can_continue(gated: GatedSignIn, user: User, settings: EffectiveSettings) -> bool:
    """False when the policy blocks, or wants a second factor the account cannot give (none set up, or MFA off
    for the tier): a risky sign-in never gets to enroll a new factor, which would hand it to the attacker."""
    if gated.decision == "block":
        return False
    if gated.decision == "mfa":
        from chalicelib.services.mfa.service import usable_kinds

        return settings.get("mfa", "mode") != "off" and bool(usable_kinds(user, settings))
    return True


def completed_sign_in(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    user: User,
    pending: dict[str, Any],
    amr: tuple[str, ...],
) -> tuple[dict[str, Any], HistoryUpdate | None]:
    """A password sign-in finished with its second factor: (the risk decision and signals to add to the sign-in's
    one ``signin.success`` event, the user's history remembering it). The caller stores both with the session and
    code, in one transaction."""
    carried = pending.get("rk")
    if not isinstance(carried, dict):
        return {}, None
    place = carried.get("loc")
    location = Location(float(place[0]), float(place[1]), str(carried.get("c", ""))) if place else None
    attempt = Attempt(
        now=int(carried.get("t", clock.now())),
        ip=str(carried.get("ip", "")),
        location=location,
        country=str(carried.get("c", "")),
        device=str(carried.get("d", "")),
    )
    found = carried.get("det")
    details: dict[str, Any] = found if isinstance(found, dict) else {}
    try:
        history = container.risk().completed_history(tenant_id, user.user_id, attempt)
    except Exception:  # the factors are proven: an unreadable history must not undo the sign-in
        log.exception("sign-in after a second factor could not read the risk history")
        return details, None
    return details, history


def finished_now(tenant_id: TenantId, user: User, gated: GatedSignIn) -> tuple[dict[str, Any], HistoryUpdate | None]:
    """A sign-in that completes in the request that assessed it: (its risk details for the sign-in event, the
    history remembering it), from memory: no read."""
    return details_of(gated.risk.assessment), history_after(tenant_id, user, gated)


def with_details(event: AuditEvent, details: dict[str, Any]) -> AuditEvent:
    """The sign-in event with the risk details a second-factor step carried."""
    return replace(event, details={**event.details, **details}) if details else event


def history_after(tenant_id: TenantId, user: User, gated: GatedSignIn) -> HistoryUpdate | None:
    """The sign-in is done: the history that remembers its device, place and hour, to store in the transaction
    that writes its session and code (``container.risk().record_history`` stores it on its own)."""
    return container.risk().history_after(tenant_id, user.user_id, gated.risk)


def with_risk(event: AuditEvent, gated: GatedSignIn) -> AuditEvent:
    """The sign-in event with the risk decision and its signals added to its details."""
    return replace(event, details={**event.details, **details_of(gated.risk.assessment)})


def record_refusal(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client | None,
    user: User,
    gated: GatedSignIn,
    *,
    reason: str,
    method: str = "pwd",
) -> None:
    """A ``signin.failure`` event for a sign-in the risk policy refused (the first factor was right)."""
    details: dict[str, Any] = {
        "client_id": client.client_id if client else "",
        "method": method,
        "reason": reason,
        "device": gated.device,
        **details_of(gated.risk.assessment),
    }
    _record_user_event(http, tenant_id, user.user_id, user.tier_node_id, SIGNIN_FAILURE, details)


def count_failed_sign_in(http: HttpRequest, tenant_id: TenantId, email: str, settings: EffectiveSettings) -> None:
    """Bad credentials feed the credential-stuffing counters (which may block the IP or the account)."""
    container.risk().record_failed_sign_in(tenant_id, email, http.source_ip, settings, user_agent=http.user_agent)


def record_user_event(
    http: HttpRequest,
    tenant_id: TenantId,
    user_id: str,
    node_id: NodeId,
    action: str,
    details: dict[str, Any],
    *,
    outcome: Literal["success", "failure"] = "success",
) -> None:
    """An event about an end user (indexed per user); losing it is logged, never an error for the request."""
    _record_user_event(http, tenant_id, user_id, node_id, action, details, outcome=outcome)


def _record_user_event(
    http: HttpRequest,
    tenant_id: TenantId,
    user_id: str,
    node_id: NodeId,
    action: str,
    details: dict[str, Any],
    *,
    outcome: Literal["success", "failure"] = "failure",
) -> None:
    audit = container.audit()
    try:
        audit.append(
            audit.user_event(
                tenant_id,
                user_id,
                action,
                node_id=node_id,
                source_ip=http.source_ip,
                user_agent=http.user_agent,
                outcome=outcome,
                details=details,
            )
        )
    except Exception:  # the request is decided: losing its event must not turn it into an error
        log.exception("%s event could not be stored", action)


def refresh_screen(http: HttpRequest, tenant_id: TenantId, settings: EffectiveSettings) -> Callable[[Grant], bool]:
    """A check run on the rotated grant: False (the grant is then revoked) when the policy does not allow it."""

    def screen(grant: Grant) -> bool:
        location, country = location_of(http)
        attempt = Attempt(now=clock.now(), ip=http.source_ip, location=location, country=country, kind="refresh")
        assessment = container.risk().assess_refresh(tenant_id, grant.user_id, attempt, settings)
        if assessment.decision == "allow":
            return True
        details = {"client_id": grant.client_id, "grant": grant.grant_id, **details_of(assessment)}
        owner = container.clients().get(tenant_id, grant.client_id)
        node = owner.tier_node_id if owner else ROOT_NODE
        _record_user_event(http, tenant_id, grant.user_id, node, "token.refresh", details)
        return False

    return screen
