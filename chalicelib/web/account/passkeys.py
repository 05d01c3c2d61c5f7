"""Adding a passkey from the account portal's security page (``/t/{tenant}/account/security``).

The same rules as every factor change: the browser's sign-in session must have proven the second factor when the
user has one (otherwise the step-up challenge comes first, as on the MFA pages). "Add a passkey" (a form post,
shown when the browser supports passkeys) creates the registration; the page comes back with its options in the
passkey form, whose attestation is posted with the form's CSRF token and checked like every registration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib import container
from chalicelib.core.entities import LoginSession
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, RateLimited, ReauthenticationRequired
from chalicelib.core.ids import TenantId
from chalicelib.services.mfa import webauthn
from chalicelib.services.mfa.service import MAX_LABEL, allowed_kinds
from chalicelib.services.step_up import amr_after, has_second_factor
from chalicelib.web.account import views
from chalicelib.web.account.portal_session import PortalUser
from chalicelib.web.audit import origin_of
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.pages.assets import webauthn_script

ACTIONS = frozenset({"passkey_begin", "passkey_finish"})
Render = Callable[..., HttpResponse]


def security_context(tenant_id: TenantId, portal: PortalUser) -> dict[str, Any]:
    """The passkey panel of the security page (and its script), where the user's tier allows passkeys."""
    if "webauthn" not in allowed_kinds(views.settings_for(tenant_id, portal.user)):
        return {}
    return {"passkey": {"ceremony": None}, "scripts": (webauthn_script(),)}


def add_passkey(
    http: HttpRequest, tenant_id: TenantId, portal: PortalUser, render: Render, done: Callable[[], HttpResponse]
) -> HttpResponse:
    """The security page's passkey posts (``action`` in ``ACTIONS``; the CSRF token is already checked)."""
    user = portal.user
    settings = views.settings_for(tenant_id, user)
    if "webauthn" not in allowed_kinds(settings):
        return render(status=400, error="error.invalid_request")
    session = _session(tenant_id, portal)
    from chalicelib.web.mfa.account import needs_step_up, step_up_page

    if needs_step_up(session, user, settings):
        return step_up_page(http, tenant_id, session, user)
    form = http.form()
    if single(form, "action") == "passkey_begin":
        return _begin(http, tenant_id, portal, render)
    label = " ".join((single(form, "label") or "")[:200].split())
    if len(label) > MAX_LABEL:
        return render(status=400, error="mfa.error.label_invalid")
    challenge_id = (single(form, "challenge") or "")[:64]
    credential = (single(form, "credential") or "")[: webauthn.MAX_CREDENTIAL_JSON + 1]
    try:
        verified = container.passkeys().finish(
            tenant_id, user, challenge_id, credential, settings, origin=origin_of(http)
        )
    except ChallengeClosed:
        return render(status=400, error="mfa.error.locked")
    except CodeInvalid:
        return render(status=400, error="passkey.error.not_accepted")
    except RateLimited:
        return render(status=429, error="mfa.error.too_many")
    if label and label != verified.enrollment.label:
        container.mfa().rename(tenant_id, user, verified.enrollment.enrollment_id, label)
    views.record(http, tenant_id, user, "account.mfa_added", kind="webauthn")
    if not has_second_factor(session.amr):
        # The user's first factor, proven by this registration: the session now has two factors.
        container.sessions().record_step_up(session, amr_after(session.amr, verified.amr))
    if verified.recovery_codes:
        from chalicelib.web.mfa.enroll import recovery_codes_page

        return recovery_codes_page(http, tenant_id, list(verified.recovery_codes), "")
    return done()


def _begin(http: HttpRequest, tenant_id: TenantId, portal: PortalUser, render: Render) -> HttpResponse:
    container.request_limiter().count(tenant_id, "mfa_enroll", http.source_ip)
    from chalicelib.web.oidc.pages import branding_for

    settings = views.settings_for(tenant_id, portal.user)
    name = branding_for(tenant_id)["display_name"]
    challenge, options = container.passkeys().begin(tenant_id, portal.user, settings, rp_name=name)
    ceremony = {"challenge": challenge.challenge_id, "options": json.dumps(options, separators=(",", ":"))}
    return render(passkey={"ceremony": ceremony}, scripts=(webauthn_script(),))


def _session(tenant_id: TenantId, portal: PortalUser) -> LoginSession:
    """The browser's sign-in session behind the portal (what it proved decides whether a step-up is needed)."""
    session = container.sessions().get(tenant_id, portal.session_id) if portal.session_id else None
    if session is None or session.user_id != portal.user.user_id or session.revoked_at:
        raise ReauthenticationRequired("Please sign in again to add a passkey.", detail="portal without a session")
    return session
