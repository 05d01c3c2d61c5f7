"""What the hosted sign-in knows about an attempt's origin (client, IP, user agent, place, device cookie), and
the recording of failed attempts. Successful ones are written with the new session (see ``signin``)."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.entities import LoginSession, User
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.activity import Device, SignInContext, viewer_location
from chalicelib.web.http import HttpRequest, cookie
from chalicelib.web.oidc.urls import cookie_path

DEVICE_COOKIE = "gh_device"
DEVICE_COOKIE_SECONDS = 2 * 365 * 86400


def sign_in_context(http: HttpRequest, client_id: str) -> SignInContext:
    return SignInContext(
        client_id=client_id,
        ip=http.source_ip,
        user_agent=http.user_agent,
        location=viewer_location(http.headers),
        device=Device.from_cookie(http.cookies().get(DEVICE_COOKIE)),
    )


def start_session(
    tenant_id: TenantId, user: User, context: SignInContext, *, amr: tuple[str, ...], settings: EffectiveSettings
) -> tuple[LoginSession, str]:
    """A new SSO session (not stored yet) for ``user`` signing in from ``context``, and its cookie value."""
    return container.sessions().start(
        tenant_id,
        user,
        amr=amr,
        settings=settings,
        ip=context.ip,
        user_agent=context.user_agent,
        location=context.location,
    )


def device_cookie(tenant_id: TenantId, context: SignInContext, user_id: str) -> str:
    """The device cookie after ``user_id`` signed in on it (its next sign-in there is not a new device)."""
    device = context.device.with_user(tenant_id, user_id)
    return cookie(DEVICE_COOKIE, device.cookie_value(), path=cookie_path(tenant_id), max_age=DEVICE_COOKIE_SECONDS)


def record_failure(
    tenant_id: TenantId, email: str, reason: str, context: SignInContext, error: Exception | None = None
) -> None:
    user_id = getattr(error, "user_id", None) if error is not None else None
    container.sign_in_activity().record_failure(
        tenant_id, user_id=user_id if isinstance(user_id, str) else None, email=email, reason=reason, context=context
    )
