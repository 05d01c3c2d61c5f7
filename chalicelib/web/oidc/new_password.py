"""The hosted sign-in's "Choose a new password" step, the browser's ``new_password_required``.

A password the tier's policy now refuses (``services.authentication.is_outdated``: cheap checks on the plaintext at
sign-in) is replaced before the sign-in ends. The page comes only once every factor is proven (after the second
factor where one is needed), so a password alone can never change the password of an account with a second factor;
and before the SSO session exists, so nothing signs the browser in until the password is replaced (a later
``prompt=none`` gets ``login_required``, the next sign-in asks again).

The pending step is sealed like the second-factor step (``web.mfa.state``, ``step="new_password"``: its own
``typ`` and audience), bound to the browser's CSRF cookie, 10 minutes. It carries the authorization request, the
user, what was proven (``amr``, ``m``: the sign-in's method), the risk details to finish with, ``next`` (``none``:
the code; ``enroll``: a factor to set up first) and ``pwv``, the version of the password signed in with:
``PasswordChanger.replace_outdated`` writes only while the stored password is still that one, so the step works once.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import CodeInvalid, InvalidInput
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import InvalidRequest, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.mfa import state
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.authorize import AuthorizationRequest, check_client, check_redirect_uri
from chalicelib.web.oidc.pages import error_page, page, redirect_sources

TEMPLATE = "new_password.html"
FIELD_MESSAGES = {
    "required": "register.error.password_required",
    "too_short": "register.error.password_too_short",
    "too_long": "register.error.password_too_long",
    "contains_email": "register.error.password_contains_email",
    "common": "register.error.password_common",
    "too_weak": "register.error.password_too_weak",
    "unchanged": "new_password.error.unchanged",
}
# What the pending step keeps for the rest of the sign-in once the password is replaced.
CONTINUED = ("uid", "amr", "at", "sid", "rk")


def ask_new_password(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    pending: dict[str, Any],
    settings: EffectiveSettings,
) -> HttpResponse:
    """The page, with the pending step sealed for this browser (every factor of the sign-in is proven)."""
    csrf, csrf_cookie = flow.csrf_token(http)
    sealed = state.seal(tenant_id, request.to_params(), pending, csrf, step="new_password")
    return new_password_page(
        http, tenant_id, client, request, user, settings, csrf=csrf, sealed=sealed, cookies=[csrf_cookie]
    )


def new_password_page(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    settings: EffectiveSettings,
    *,
    csrf: str,
    sealed: str,
    status: int = 200,
    errors: dict[str, str] | None = None,
    cookies: list[str | None] | None = None,
) -> HttpResponse:
    return page(
        http,
        TEMPLATE,
        tenant_id=tenant_id,
        node_id=client.tier_node_id,
        ui_locales=request.ui_locales,
        status=status,
        cookies=[c for c in cookies or [] if c],
        form_targets=redirect_sources(client.redirect_uris),
        action_url=urls.page(tenant_id, "login/new-password"),
        csrf_token=csrf,
        flow_id=sealed,
        email=user.email,
        client_name=client.name,
        field_errors=errors or {},
        min_length=int(settings.get("password_policy", "min_length")),
    )


def _choose(http: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    tenant_id = tree.tenant_id
    params, pending = state.unseal(tenant_id, http, step="new_password")
    request = AuthorizationRequest.from_params(params)
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    user = container.accounts().get(tenant_id, UserId(str(pending["uid"])))
    if user.status != "active" or not tree.is_active(user.tier_node_id):
        raise InvalidRequest("This account cannot sign in.")
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    try:
        container.password_changer().replace_outdated(
            tenant_id,
            user,
            single(http.form(), "password") or "",
            version=str(pending.get("pwv") or ""),
            settings=settings,
            origin=origin_of(http, client.client_id),
        )
    except InvalidInput as failure:
        errors = {"password": FIELD_MESSAGES.get(failure.fields.get("password", ""), "error.invalid_request")}
        csrf, sealed = single(http.form(), "csrf") or "", single(http.form(), "flow") or ""
        return new_password_page(
            http, tenant_id, client, request, user, settings, csrf=csrf, sealed=sealed, status=400, errors=errors
        )
    except CodeInvalid as error:
        raise InvalidRequest(
            "This step has already been completed, or the password was changed meanwhile. "
            "Please start again from the application."
        ) from error
    return _continue(http, tenant_id, client, request, user, pending, settings)


def _continue(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    pending: dict[str, Any],
    settings: EffectiveSettings,
) -> HttpResponse:
    """The password is replaced: the sign-in ends as it would have (session, risk history, profile, consent,
    code), or, where the account still has to set up a second factor, with a session and the enrollment."""
    from chalicelib.web.mfa.signin import finish_sign_in, password_session_then_enrollment

    amr = tuple(str(a) for a in pending.get("amr") or ("pwd",))
    method = str(pending.get("m") or "pwd")
    if pending.get("next") == "enroll":
        return password_session_then_enrollment(
            http, tenant_id, client, request, user, settings, amr=amr, method=method
        )
    continued = {k: pending[k] for k in CONTINUED if k in pending}
    return finish_sign_in(http, tenant_id, client, request, user, continued, amr, settings, [], method=method)


new_password_endpoint = page_endpoint(error_page)(_choose)
