""" "Remember this device": a signed cookie that lets one user skip the MFA prompt on this browser for a while.

The cookie is a JWS (tenant ES256 key, its own ``typ`` and audience) naming the user; nothing is stored. It only
satisfies the tier's MFA prompt; a client asking for multi-factor ``acr_values`` still gets a challenge.
"""

from __future__ import annotations

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId, UserId, new_id
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.tokens import issuer_url
from chalicelib.web.http import HttpRequest, cookie
from chalicelib.web.oidc.urls import cookie_path

DEVICE_COOKIE = "gh_mfa_device"
DEVICE_TYP = "gh-device+jwt"
DEVICE_AUDIENCE = "urn:gatehouse:device"


def remember_seconds(settings: EffectiveSettings) -> int:
    return int(settings.get("mfa", "remember_device_seconds"))


def remember_cookie(tenant_id: TenantId, user_id: UserId, settings: EffectiveSettings) -> str:
    now = clock.now()
    lifetime = remember_seconds(settings)
    claims = {
        "iss": issuer_url(tenant_id),
        "sub": user_id,
        "aud": DEVICE_AUDIENCE,
        "iat": now,
        "exp": now + lifetime,
        "jti": new_id(),
    }
    value = container.tokens().sign(tenant_id, claims, alg="ES256", typ=DEVICE_TYP)
    return cookie(DEVICE_COOKIE, value, path=cookie_path(tenant_id), max_age=lifetime)


def is_remembered(http: HttpRequest, tenant_id: TenantId, user_id: UserId, settings: EffectiveSettings) -> bool:
    lifetime = remember_seconds(settings)
    value = http.cookies().get(DEVICE_COOKIE)
    if lifetime <= 0 or not value:
        return False
    try:
        claims = container.tokens().verify(tenant_id, value, typ=DEVICE_TYP, audience=DEVICE_AUDIENCE)
    except TokenInvalid:
        return False
    # A shorter lifetime set since the cookie was issued applies at once.
    return claims.get("sub") == user_id and int(claims["iat"]) + lifetime > clock.now()
