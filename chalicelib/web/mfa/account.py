"""What the MFA pages share: the signed-in user behind the session cookie, the step-up guard for changing
factors, and continuing an interrupted sign-in."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.entities import LoginSession, User
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.mfa.service import usable_kinds
from chalicelib.services.step_up import has_second_factor
from chalicelib.web.errors import InvalidRequest, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc import flow
from chalicelib.web.oidc.authorize import SESSION_COOKIE, check_client, check_redirect_uri, continue_signed_in
from chalicelib.web.oidc.authorize import AuthorizationRequest as Request
from chalicelib.web.oidc.pages import error_page


class SignInRequired(InvalidRequest):
    """The MFA pages need a signed-in browser."""

    status = 401


def signed_in(http: HttpRequest, tenant_id: TenantId) -> tuple[LoginSession, User]:
    resolved = container.sessions().resolve(tenant_id, http.cookies().get(SESSION_COOKIE))
    if resolved is None:
        raise SignInRequired("Please sign in to the application first, then come back to this page.")
    return resolved


def user_settings(tenant_id: TenantId, user: User) -> EffectiveSettings:
    return container.tenants().effective(tenant_id, user.tier_node_id)


def needs_step_up(session: LoginSession, user: User, settings: EffectiveSettings) -> bool:
    """Changing factors needs the second factor when the user has one: a password alone must never be enough
    to add or remove an authenticator."""
    return bool(usable_kinds(user, settings)) and not has_second_factor(session.amr)


def step_up_page(http: HttpRequest, tenant_id: TenantId, session: LoginSession, user: User) -> HttpResponse:
    from chalicelib.web.mfa.signin import start_challenge

    settings = user_settings(tenant_id, user)
    pending = {"uid": user.user_id, "amr": list(session.amr), "at": session.auth_time, "sid": session.session_id}
    return start_challenge(http, tenant_id, None, {}, user, pending, settings)


def carried_flow(http: HttpRequest) -> str:
    """The sealed sign-in flow an MFA page carries through to ``/mfa/continue`` (checked there, not here)."""
    value = single(http.form(), "flow") if http.method == "POST" else single(http.query, "flow")
    return (value or "")[: flow.MAX_SEALED] if value else ""


def _continue(http: HttpRequest, tenant: str) -> HttpResponse:
    return continue_sign_in(http, container.tenants().tree(tenant).tenant_id)


def continue_sign_in(http: HttpRequest, tenant_id: TenantId) -> HttpResponse:
    """Back to the application after an enrollment interrupted its sign-in (POST with the sealed flow)."""
    request = Request.from_params(flow.unseal(tenant_id, http))
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    session, user = signed_in(http, tenant_id)
    from chalicelib.web.mfa.signin import for_session

    step_up = for_session(http, tenant_id, client, request, session, user)
    if step_up is not None:
        return step_up
    return continue_signed_in(http, tenant_id, client, request, session, user)


def posted(http: HttpRequest, name: str, limit: int = 256) -> str:
    return (single(http.form(), name) or "")[:limit]


continue_endpoint = page_endpoint(error_page)(_continue)
