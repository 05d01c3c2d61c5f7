"""Adding a passkey in the hosted pages (``/t/{tenant}/mfa/enroll/webauthn``), with the same sign-in and step-up
rules as the other factors (``web.mfa.enroll``).

The page carries the registration options of a fresh single-use challenge in its form; the browser's attestation
comes back in that form with its CSRF token (``web.pages.assets``' script runs the ceremony). The attestation is
checked against the RP ID and origin of the configured public URL, with user verification required.
"""

from __future__ import annotations

import json

from chalicelib import container
from chalicelib.core.entities import LoginSession, User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.mfa import webauthn
from chalicelib.services.mfa.service import MAX_LABEL, allowed_kinds, enrollable_kinds
from chalicelib.web.audit import origin_of
from chalicelib.web.http import HttpRequest, HttpResponse
from chalicelib.web.mfa.account import carried_flow, posted
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.pages import branding_for, page
from chalicelib.web.pages.assets import webauthn_script

KIND = "webauthn"


def hosted_enrollable_kinds(settings: EffectiveSettings) -> tuple[str, ...]:
    """What the hosted pages can set up: the code factors and, where the tier allows them, passkeys."""
    return (*enrollable_kinds(settings), *((KIND,) if KIND in allowed_kinds(settings) else ()))


def passkey_enrollment(
    http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User, settings: EffectiveSettings
) -> HttpResponse:
    """GET (or ``step=restart``): a new registration; POST ``step=confirm``: verify the attestation."""
    if http.method == "GET" or posted(http, "step") != "confirm":
        return _begin(http, tenant_id, user, settings)
    label = " ".join(posted(http, "label", 200).split())
    if len(label) > MAX_LABEL:
        return _begin(http, tenant_id, user, settings, label=label[:MAX_LABEL], error="mfa.error.label_invalid")
    credential = posted(http, "credential", webauthn.MAX_CREDENTIAL_JSON + 1)
    try:
        verified = container.passkeys().finish(
            tenant_id, user, posted(http, "challenge", 64), credential, settings, origin=origin_of(http)
        )
    except ChallengeClosed:
        return _begin(http, tenant_id, user, settings, label=label, error="mfa.error.locked")
    except CodeInvalid:
        return _begin(http, tenant_id, user, settings, label=label, error="passkey.error.not_accepted")
    except RateLimited:
        return _page(http, tenant_id, None, label=label, error="mfa.error.too_many", status=429)
    if label and label != verified.enrollment.label:
        container.mfa().rename(tenant_id, user, verified.enrollment.enrollment_id, label)
    from chalicelib.web.mfa.enroll import enrolled

    return enrolled(http, tenant_id, session, user, verified)


def _begin(
    http: HttpRequest,
    tenant_id: TenantId,
    user: User,
    settings: EffectiveSettings,
    *,
    label: str = "",
    error: str | None = None,
) -> HttpResponse:
    # Each registration is a pending enrollment and a challenge: counted like the other enrollment requests.
    container.request_limiter().count(tenant_id, "mfa_enroll", http.source_ip)
    challenge, options = container.passkeys().begin(
        tenant_id, user, settings, rp_name=branding_for(tenant_id)["display_name"], label=label
    )
    ceremony = {"challenge": challenge.challenge_id, "options": json.dumps(options, separators=(",", ":"))}
    return _page(http, tenant_id, ceremony, label=label, error=error, status=400 if error else 200)


def _page(
    http: HttpRequest,
    tenant_id: TenantId,
    ceremony: dict[str, str] | None,
    *,
    label: str,
    error: str | None,
    status: int,
) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        "mfa_enroll_passkey.html",
        tenant_id=tenant_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        scripts=(webauthn_script(),),
        action_url=urls.page(tenant_id, f"mfa/enroll/{KIND}"),
        factors_url=urls.page(tenant_id, "mfa/factors"),
        csrf_token=csrf,
        flow_id=carried_flow(http),
        ceremony=ceremony,
        label=label,
        error=error,
        field_errors={},
    )
