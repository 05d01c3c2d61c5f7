"""Pages around a federated sign-in: the provider buttons' start endpoint and the login's continue page.

``GET /t/{tenant}/federation/{idp}/start?flow=...`` (a provider button on the login page: the sealed sign-in
flow, valid only with the CSRF cookie it was sealed for) sends the browser to that provider.
``/t/{tenant}/federation/logins/{login_id}`` is where every protocol returns the browser after ``flow.complete``:
only the browser that started the login may use it (its CSRF cookie digest); it shows the interstitial while
provisioning runs (meta refresh, no JavaScript needed), the password form when the linking policy asks the user to
prove ownership of an existing account, a clear error with a retry when provisioning failed, and otherwise issues
the session and the authorization code once.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import (
    AccountDisabled,
    AccountNotVerified,
    CodeInvalid,
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    RateLimited,
    TokenInvalid,
)
from chalicelib.core.federation import FederatedLogin
from chalicelib.core.ids import TenantId
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import InvalidRequest, page_endpoint
from chalicelib.web.federation import flow
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single, with_query
from chalicelib.web.oidc import flow as signin_flow
from chalicelib.web.oidc import risk_gate
from chalicelib.web.oidc.authorize import (
    AuthorizationRequest,
    check_client,
    check_redirect_uri,
    code_redirect,
    consent_page,
    fail,
    session_cookie,
)
from chalicelib.web.oidc.pages import error_page, page
from chalicelib.web.oidc.profiling import missing_attributes, profile_page
from chalicelib.web.oidc.signin_activity import device_cookie, sign_in_context, start_session

FEDERATED_AMR = ("fed",)
WAIT_SECONDS = 1


def _restore(tenant_id: TenantId, params: dict[str, Any] | None) -> tuple[Client, AuthorizationRequest] | None:
    if params is None:
        return None
    request = AuthorizationRequest.from_params(params)
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    return client, request


def _unseal_link(tenant_id: TenantId, http: HttpRequest) -> dict[str, Any]:
    """The sealed sign-in flow of a provider link (GET ``?flow=``), bound to this browser's CSRF cookie."""
    sealed = single(http.query, "flow") or ""
    cookie = http.cookies().get(signin_flow.CSRF_COOKIE, "")
    try:
        claims = container.tokens().verify(
            tenant_id, sealed, typ=signin_flow.FLOW_TYP, audience=signin_flow.FLOW_AUDIENCE
        )
    except TokenInvalid as error:
        raise InvalidRequest("This sign-in page has expired. Please start again from the application.") from error
    if not cookie or not constant_time_equals(str(claims.get("csrf", "")), secret_digest(cookie)):
        raise InvalidRequest("The sign-in could not be verified (CSRF). Please start again from the application.")
    params = claims.get("req")
    if not isinstance(params, dict):
        raise InvalidRequest("Malformed sign-in flow.")
    return params


def _start(http: HttpRequest, tenant: str, idp: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    restored = _restore(tenant_id, _unseal_link(tenant_id, http))
    if restored is None:
        raise InvalidRequest("Malformed sign-in flow.")
    client, request = restored
    integration = flow.find_offered(tenant_id, client.tier_node_id, idp)
    if integration is None:
        raise fail(tenant_id, request, InvalidRequest("Unknown identity provider."))
    return flow.begin(http, tenant_id, client, request.to_params(), integration, login_hint=request.login_hint)


def retry_url(tenant_id: TenantId, login: FederatedLogin) -> str | None:
    """The authorization request again, straight to the same provider (a fresh login)."""
    if login.request is None:
        return None
    request = AuthorizationRequest.from_params(login.request)
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "scope": " ".join(request.scope),
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256" if request.code_challenge else None,
        "ui_locales": request.ui_locales,
        "login_hint": request.login_hint,
        "idp": login.integration,
    }
    return with_query(f"{issuer_url(tenant_id)}/authorize", params)


def _check_browser(http: HttpRequest, login: FederatedLogin) -> None:
    if not login.csrf_digest:
        return  # IdP-initiated: nothing to bind to (documented in flow)
    cookie = http.cookies().get(signin_flow.CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(secret_digest(cookie), login.csrf_digest):
        raise Forbidden("This sign-in was started in another browser. Please start again from the application.")


def _render(http: HttpRequest, tenant_id: TenantId, login: FederatedLogin, mode: str, **context: Any) -> HttpResponse:
    ui_locales = (login.request or {}).get("ui_locales")
    status = context.pop("status", 200)
    cookies = context.pop("cookies", [])
    return page(
        http,
        "federation.html",
        tenant_id=tenant_id,
        node_id=login.node_id,
        ui_locales=ui_locales if isinstance(ui_locales, str) else None,
        status=status,
        cookies=cookies,
        mode=mode,
        **context,
    )


def _continue(http: HttpRequest, tenant: str, login_id: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    service = container.federation()
    try:
        login = service.get(tenant_id, login_id)
    except CodeInvalid:
        return page(
            http,
            "federation.html",
            tenant_id=tenant_id,
            status=410,
            mode="failed",
            reason="expired",
            reason_key="federation.failed.expired",
            retry_url=None,
        )
    _check_browser(http, login)
    if login.link is not None:  # linking, not a sign-in (an upstream error lands here): the account pages
        return redirect(flow.link_return_url(tenant_id, login_id))
    if login.status in ("asserted", "provisioning"):
        if http.method == "POST":
            raise InvalidRequest("Use GET.", status=405)
        url = flow.continue_url(tenant_id, login_id)
        response = _render(http, tenant_id, login, "wait", continue_url=url, refresh_seconds=WAIT_SECONDS, status=202)
        response.headers["Retry-After"] = str(WAIT_SECONDS)
        return response
    if login.status == "link_required":
        return _link(http, tenant_id, login)
    if login.status == "provisioned":
        return _sign_in(http, tenant_id, login)
    reason = login.error if login.status == "failed" and login.error else "expired"
    return _render(
        http,
        tenant_id,
        login,
        "failed",
        reason=reason,
        reason_key=f"federation.failed.{reason}",
        retry_url=retry_url(tenant_id, login),
        status=400,
    )


def _link(http: HttpRequest, tenant_id: TenantId, login: FederatedLogin) -> HttpResponse:
    """Linking policy ``sign_in``: the user proves they own the existing account with its password."""
    user = container.accounts().get(tenant_id, login.user_id) if login.user_id else None
    if user is None:
        raise CodeInvalid(detail="link target gone")
    integration = container.identity_providers().get(tenant_id, login.integration)
    csrf, csrf_cookie = signin_flow.csrf_token(http)
    context: dict[str, Any] = {
        "email": user.email,
        "provider": integration.display_name,
        "action_url": flow.continue_url(tenant_id, login.login_id),
        "csrf_token": csrf,
        "cookies": [csrf_cookie] if csrf_cookie else [],
    }
    if http.method != "POST":
        return _render(http, tenant_id, login, "link", **context)
    form = http.form()
    if not constant_time_equals(single(form, "csrf") or "", http.cookies().get(signin_flow.CSRF_COOKIE, "") or "-"):
        raise InvalidRequest("The form could not be verified (CSRF). Please start again from the application.")
    password = single(form, "password") or ""
    settings = container.tenants().effective(tenant_id, login.node_id)
    try:
        result = container.password_authenticator().authenticate(
            tenant_id, user.email, password[:1024], ip=http.source_ip, settings=settings
        )
    except (InvalidCredentials, InvalidInput, AccountNotVerified, AccountDisabled):
        return _render(http, tenant_id, login, "link", error="login.error.invalid_credentials", status=401, **context)
    except RateLimited as error:
        response = _render(http, tenant_id, login, "link", error="login.error.too_many_attempts", status=429, **context)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    container.federation().confirm_link(tenant_id, login.login_id, result.user.user_id)
    container.federation().start_provisioning(tenant_id, login.login_id, attempt="link")
    return redirect(flow.continue_url(tenant_id, login.login_id))


def federated_amr(login: FederatedLogin) -> tuple[str, ...]:
    """``fed``, plus ``mfa`` when the upstream asserted a multi-factor sign-in (OIDC ``amr``; SAML
    AuthnContextClassRef): the tier's MFA policy counts that as the second factor, as RFC 8176 intends."""
    upstream_amr = login.upstream.amr if login.upstream else ()
    return (*FEDERATED_AMR, "mfa") if "mfa" in upstream_amr else FEDERATED_AMR


def _sign_in(http: HttpRequest, tenant_id: TenantId, login: FederatedLogin) -> HttpResponse:
    """Provisioned: the same gates as a password sign-in (risk policy, then the tier's MFA policy and the
    request's ``acr_values``), then the session and the authorization code, once (a second visit finds the login
    completed)."""
    restored = _restore(tenant_id, login.request)
    login, user = container.federation().finish(tenant_id, login.login_id)
    client = restored[0] if restored else None
    node_id = client.tier_node_id if client else login.node_id
    settings = container.tenants().effective(tenant_id, node_id)
    amr, method = federated_amr(login), f"federated:{login.integration}"
    gated = risk_gate.assess_federated_sign_in(http, tenant_id, user, settings)
    if not risk_gate.can_continue(gated, user, settings) or (restored is None and gated.decision == "mfa"):
        return _refuse(http, tenant_id, login, client, user, gated, method)
    if user.deletion_scheduled_at:
        container.account_deletion().cancel(tenant_id, user)  # signing in cancels a requested deletion
    if restored is not None:
        from chalicelib.web.mfa.signin import after_first_factor

        second_factor = after_first_factor(
            http,
            tenant_id,
            restored[0],
            restored[1],
            user,
            settings,
            amr=amr,
            method=method,
            risk=gated.decision,
            carry=gated.carry(),
        )
        if second_factor is not None:
            second_factor.cookies.extend(gated.cookies)
            return second_factor
    context = sign_in_context(http, client.client_id if client else "")
    session, cookie_value = start_session(tenant_id, user, context, amr=amr, settings=settings)
    history = risk_gate.history_after(tenant_id, user, gated)
    activity = container.sign_in_activity()
    event = risk_gate.with_risk(activity.success_event(tenant_id, user, context, amr=amr, method=method), gated)
    cookie = session_cookie(tenant_id, cookie_value, int(settings.get("tokens", "session_seconds")))
    cookies = [cookie, device_cookie(tenant_id, context, user.user_id), *gated.cookies]
    if restored is None:  # IdP-initiated: a session only; the application's own request steps it up if needed
        container.sessions().store(session)
        activity.record(event)
        container.risk().record_history(history)
        return _render(http, tenant_id, login, "signed_in", cookies=cookies)
    client, request = restored
    missing = missing_attributes(tenant_id, client, user)
    forced = "consent" in request.prompt
    if missing or container.consent().is_needed(tenant_id, client, user.user_id, request.scope, forced=forced):
        container.sessions().store(session)
        activity.record(event)
        container.risk().record_history(history)
        if missing:  # progressive profiling: ask for what the client needs first
            return profile_page(http, tenant_id, client, request.to_params(), missing, cookies=cookies)
        return consent_page(http, tenant_id, client, request, user, cookies=cookies)
    response = redirect(
        code_redirect(tenant_id, client, request, user, session, new_session=True, events=[event], history=history)
    )
    response.cookies.extend(cookies)
    return response


def _refuse(
    http: HttpRequest,
    tenant_id: TenantId,
    login: FederatedLogin,
    client: Client | None,
    user: User,
    gated: risk_gate.GatedSignIn,
    method: str,
) -> HttpResponse:
    """The risk policy blocks the sign-in, or wants a second factor this sign-in cannot give (none set up, MFA
    off for the tier, or an IdP-initiated login with no application request to continue after the factor)."""
    reason = "risk_blocked" if gated.decision == "block" else "risk_second_factor"
    risk_gate.record_refusal(http, tenant_id, client, user, gated, reason=reason, method=method)
    response = _render(
        http,
        tenant_id,
        login,
        "failed",
        reason=reason,
        reason_key=f"federation.failed.{reason}",
        retry_url=None,
        status=403,
    )
    response.cookies.extend(gated.cookies)
    return response


start_endpoint = page_endpoint(error_page)(_start)
continue_endpoint = page_endpoint(error_page)(_continue)
