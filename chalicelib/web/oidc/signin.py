"""Form posts of the hosted sign-in: password login and consent."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import AccountDisabled, AccountNotVerified, InvalidCredentials, InvalidInput, RateLimited
from chalicelib.core.federation import discover_by_email
from chalicelib.core.ids import TenantId
from chalicelib.services.authentication import is_outdated
from chalicelib.web.errors import AccessDenied, page_endpoint
from chalicelib.web.federation import flow as federation_flow
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.oidc import flow, risk_gate
from chalicelib.web.oidc.authorize import (
    SESSION_COOKIE,
    AuthorizationRequest,
    check_client,
    check_redirect_uri,
    code_redirect,
    consent_page,
    fail,
    login_page,
    session_cookie,
)
from chalicelib.web.oidc.pages import error_page
from chalicelib.web.oidc.profiling import missing_attributes, profile_page
from chalicelib.web.oidc.signin_activity import device_cookie, record_failure, sign_in_context, start_session

MAX_EMAIL = 254
MAX_PASSWORD = 1024


def _restore(tenant_id: TenantId, http: HttpRequest) -> tuple[Client, AuthorizationRequest]:
    request = AuthorizationRequest.from_params(flow.unseal(tenant_id, http))
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    return client, request


def _login(http: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    tenant_id = tree.tenant_id
    client, request = _restore(tenant_id, http)
    form = http.form()
    if single(form, "action") in ("passkey", "passkey_verify"):
        from chalicelib.web.oidc.passkey_signin import passkey_sign_in

        return passkey_sign_in(http, tree, client, request, str(single(form, "action")))
    email = (single(form, "email") or "").strip()
    password = single(form, "password") or ""
    sso = single(form, "action") == "sso"
    if email and (sso or not password):  # home-realm discovery: the email's domain names an identity provider
        integration = discover_by_email(email[:MAX_EMAIL], federation_flow.offered(tenant_id, client.tier_node_id))
        if integration is not None:
            return federation_flow.begin(http, tenant_id, client, request.to_params(), integration, login_hint=email)
    if sso:
        return login_page(http, tenant_id, client, request, status=400, error="login.error.no_sso", email=email)
    field_errors = {}
    if not email or len(email) > MAX_EMAIL:
        field_errors["email"] = "login.error.email_required"
    if not password or len(password) > MAX_PASSWORD:
        field_errors["password"] = "login.error.password_required"
    if field_errors:
        return login_page(
            http, tenant_id, client, request, status=400, field_errors=field_errors, email=email[:MAX_EMAIL]
        )
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    context = sign_in_context(http, client.client_id)
    try:
        result = container.password_authenticator().authenticate(
            tenant_id,
            email,
            password,
            ip=http.source_ip,
            settings=settings,
            with_risk_profile=risk_gate.reads_history(settings),
        )
    except (InvalidCredentials, InvalidInput) as error:
        record_failure(tenant_id, email, "invalid_credentials", context, error)
        risk_gate.count_failed_sign_in(http, tenant_id, email, settings)
        return login_page(
            http, tenant_id, client, request, status=401, error="login.error.invalid_credentials", email=email
        )
    except RateLimited as error:
        record_failure(tenant_id, email, "rate_limited", context)
        response = login_page(
            http, tenant_id, client, request, status=429, error="login.error.too_many_attempts", email=email
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except AccountNotVerified as error:
        record_failure(tenant_id, email, "unverified", context, error)
        return login_page(
            http, tenant_id, client, request, status=403, error="login.error.unverified", email=email, offer_resend=True
        )
    except AccountDisabled as error:
        record_failure(tenant_id, email, "disabled", context, error)
        return login_page(
            http, tenant_id, client, request, status=403, error="login.error.account_disabled", email=email
        )
    if not tree.is_active(result.user.tier_node_id):
        return login_page(
            http, tenant_id, client, request, status=403, error="login.error.account_disabled", email=email
        )
    gated = risk_gate.assess_password_sign_in(http, tenant_id, result, password, settings)
    if not risk_gate.can_continue(gated, result.user, settings):
        return _refuse(http, tenant_id, client, request, result.user, gated, email)
    if result.user.deletion_scheduled_at:
        container.account_deletion().cancel(tenant_id, result.user)  # signing in cancels a requested deletion
    from chalicelib.web.mfa.signin import after_first_factor

    # A password the policy now refuses is replaced once every factor is proven (cheap checks, no request).
    outdated = is_outdated(password, settings.section("password_policy"), result.user.email)
    second_factor = after_first_factor(
        http,
        tenant_id,
        client,
        request,
        result.user,
        settings,
        risk=gated.decision,
        carry=gated.carry(),
        pwv=result.password_version if outdated else None,
    )
    if second_factor is not None:
        second_factor.cookies.extend(gated.cookies)
        return second_factor
    session, cookie_value = start_session(tenant_id, result.user, context, amr=result.amr, settings=settings)
    history = risk_gate.history_after(tenant_id, result.user, gated)
    cookie = session_cookie(tenant_id, cookie_value, int(settings.get("tokens", "session_seconds")))
    event = container.sign_in_activity().success_event(tenant_id, result.user, context, amr=result.amr, method="pwd")
    event = risk_gate.with_risk(event, gated)
    device = device_cookie(tenant_id, context, result.user.user_id)
    missing = missing_attributes(tenant_id, client, result.user)
    if missing:  # progressive profiling: ask for what the client needs first
        container.sessions().store(session)
        container.sign_in_activity().record(event)
        container.risk().record_history(history)
        return profile_page(http, tenant_id, client, request.to_params(), missing, cookies=[cookie, device])
    forced = "consent" in request.prompt
    if container.consent().is_needed(tenant_id, client, result.user.user_id, request.scope, forced=forced):
        container.sessions().store(session)
        container.sign_in_activity().record(event)
        container.risk().record_history(history)
        return consent_page(http, tenant_id, client, request, result.user, cookies=[cookie, device, *gated.cookies])
    response = redirect(
        code_redirect(
            tenant_id, client, request, result.user, session, new_session=True, events=[event], history=history
        )
    )
    response.cookies.extend([cookie, device, *gated.cookies])
    return response


def _refuse(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    gated: risk_gate.GatedSignIn,
    email: str,
) -> HttpResponse:
    """The risk policy blocks the sign-in, or asks for a second factor this account cannot give."""
    blocked = gated.decision == "block"
    reason = "risk_blocked" if blocked else "risk_second_factor_unavailable"
    risk_gate.record_refusal(http, tenant_id, client, user, gated, reason=reason)
    error = "login.error.risk_blocked" if blocked else "login.error.risk_second_factor"
    response = login_page(http, tenant_id, client, request, status=403, error=error, email=email)
    response.cookies.extend(gated.cookies)
    return response


def _consent(http: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    tenant_id = tree.tenant_id
    client, request = _restore(tenant_id, http)
    resolved = container.sessions().resolve(tenant_id, http.cookies().get(SESSION_COOKIE))
    if resolved is None:
        return login_page(http, tenant_id, client, request, status=401, error="error.session_expired")
    session, user = resolved
    from chalicelib.web.mfa.signin import for_session

    # The consent form cannot skip a second factor the session still owes (e.g. an enrollment not finished).
    step_up = for_session(http, tenant_id, client, request, session, user)
    if step_up is not None:
        return step_up
    decision = single(http.form(), "decision")
    if decision != "allow":
        details = {"client_id": client.client_id, "scope": " ".join(request.scope)}
        risk_gate.record_user_event(http, tenant_id, user.user_id, user.tier_node_id, "consent.denied", details)
        raise fail(tenant_id, request, AccessDenied("The user denied the request."))
    container.consent().grant(tenant_id, client, user.user_id, request.scope)
    details = {"client_id": client.client_id, "scope": " ".join(request.scope)}
    risk_gate.record_user_event(http, tenant_id, user.user_id, user.tier_node_id, "consent.granted", details)
    return redirect(code_redirect(tenant_id, client, request, user, session, new_session=False))


login_endpoint = page_endpoint(error_page)(_login)
consent_endpoint = page_endpoint(error_page)(_consent)
