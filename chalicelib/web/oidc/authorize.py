"""Authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1.1, RFC 7636, RFC 9207).

The request runs through small named checks in order. Until the client and its exact redirect URI are known, an
error is shown as a page and never redirected; after that, errors go back to the client with ``state`` and ``iss``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from chalicelib import container
from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, Client, LoginSession, User
from chalicelib.core.federation import IdentityProvider, discover_by_email
from chalicelib.core.ids import TenantId
from chalicelib.core.risk import HistoryUpdate
from chalicelib.services.authorization import CodeRequest
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import (
    AccessDenied,
    AuthorizeRedirect,
    ConsentRequired,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedResponseType,
    page_endpoint,
)
from chalicelib.web.federation import flow as federation_flow
from chalicelib.web.http import DuplicateParameter, HttpRequest, HttpResponse, cookie, redirect, single, with_query
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.grants import parse_scope
from chalicelib.web.oidc.pages import error_page, page, redirect_sources
from chalicelib.web.selfservice import links

CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")  # base64url(SHA-256) without padding
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
SESSION_COOKIE = "gh_session"
MAX_PARAM = 2048


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    login_hint: str | None = None
    ui_locales: str | None = None
    acr_values: str | None = None

    def to_params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, ())}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> AuthorizationRequest:
        known = {k: params[k] for k in cls.__dataclass_fields__ if k in params}
        known["scope"] = tuple(known.get("scope", ()))
        known["prompt"] = tuple(known.get("prompt", ()))
        return cls(**known)

    def code_request(self) -> CodeRequest:
        return CodeRequest(self.client_id, self.redirect_uri, self.scope, self.nonce, self.code_challenge)


# --- checks before the redirect URI is trusted: errors are pages -------------------------------------------


def check_client(tenant_id: TenantId, client_id: str | None) -> Client:
    client = container.clients().get(tenant_id, client_id or "")
    if client is None or not container.tenants().tree(tenant_id).is_active(client.tier_node_id):
        raise InvalidRedirectUri("Unknown or disabled client.")
    if "authorization_code" not in client.grant_types:
        raise InvalidRedirectUri("This client cannot use the authorization endpoint.")
    return client


def check_redirect_uri(client: Client, redirect_uri: str | None) -> str:
    # Exact string comparison (RFC 9700 §4.1.3); no defaulting, OIDC Core §3.1.2.1 requires the parameter.
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        raise InvalidRedirectUri("The redirect_uri is not registered for this client.")
    return redirect_uri


# --- checks after it: errors are redirected ---------------------------------------------------------------


def reject_request_objects(params: dict[str, list[str]]) -> None:
    if "request" in params:
        raise RequestNotSupported("Request objects are not supported.")
    if "request_uri" in params:
        raise RequestUriNotSupported("request_uri is not supported.")


def check_response_type(params: dict[str, list[str]]) -> None:
    response_type = single(params, "response_type")
    if not response_type:
        raise InvalidRequest("response_type is required.")
    if response_type != "code":
        raise UnsupportedResponseType("Only response_type=code is supported.")
    mode = single(params, "response_mode")
    if mode not in (None, "query"):
        raise InvalidRequest("Only response_mode=query is supported.")


def check_scope(client: Client, params: dict[str, list[str]]) -> tuple[str, ...]:
    scope = parse_scope(single(params, "scope"))
    if not scope:
        raise InvalidScope("scope is required.")
    if not set(scope) <= set(client.scopes):
        raise InvalidScope("The requested scope is not allowed for this client.")
    return scope


def check_pkce(client: Client, params: dict[str, list[str]]) -> str | None:
    challenge = single(params, "code_challenge")
    method = single(params, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge.")
        if client.client_type == "public":
            raise InvalidRequest("PKCE (code_challenge with S256) is required for public clients.")
        return None
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256.")
    if not CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge is malformed.")
    return challenge


def check_prompt(params: dict[str, list[str]]) -> tuple[str, ...]:
    value = single(params, "prompt")
    if value is None:
        return ()
    prompts = tuple(p for p in value.split(" ") if p)
    if not prompts or any(p not in PROMPTS for p in prompts):
        raise InvalidRequest("Unsupported prompt value.")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")
    return prompts


def check_max_age(params: dict[str, list[str]]) -> int | None:
    value = single(params, "max_age")
    if value is None:
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidRequest("max_age must be a non-negative integer.")
    return int(value)


def optional_text(params: dict[str, list[str]], name: str) -> str | None:
    value = single(params, name)
    if value is not None and len(value) > MAX_PARAM:
        raise InvalidRequest(f"{name} is too long.")
    return value


def parse_authorization_request(
    tenant_id: TenantId, params: dict[str, list[str]]
) -> tuple[Client, AuthorizationRequest]:
    try:
        client = check_client(tenant_id, single(params, "client_id"))
        redirect_uri = check_redirect_uri(client, single(params, "redirect_uri"))
    except DuplicateParameter as error:
        raise InvalidRedirectUri(str(error)) from error
    state = params.get("state", [None])[0] if len(params.get("state", [])) == 1 else None
    try:
        reject_request_objects(params)
        check_response_type(params)
        request = AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scope=check_scope(client, params),
            state=optional_text(params, "state"),
            nonce=optional_text(params, "nonce"),
            code_challenge=check_pkce(client, params),
            prompt=check_prompt(params),
            max_age=check_max_age(params),
            login_hint=optional_text(params, "login_hint"),
            ui_locales=optional_text(params, "ui_locales"),
            acr_values=optional_text(params, "acr_values"),
        )
    except (OAuthError, DuplicateParameter) as error:
        oauth = error if isinstance(error, OAuthError) else InvalidRequest(str(error))
        raise AuthorizeRedirect(oauth, redirect_uri, state, issuer_url(tenant_id)) from error
    return client, request


def needs_login(request: AuthorizationRequest, session: LoginSession) -> bool:
    if "login" in request.prompt or "select_account" in request.prompt:
        return True
    if request.max_age is None:
        return False
    # OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login.
    return request.max_age == 0 or clock.now() - session.auth_time > request.max_age


def fail(tenant_id: TenantId, request: AuthorizationRequest, error: OAuthError) -> AuthorizeRedirect:
    return AuthorizeRedirect(error, request.redirect_uri, request.state, issuer_url(tenant_id))


def code_redirect(
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    session: LoginSession,
    *,
    new_session: bool,
    events: Sequence[AuditEvent] = (),
    history: HistoryUpdate | None = None,
) -> str:
    if not container.tenants().tree(tenant_id).is_active(user.tier_node_id):
        raise fail(tenant_id, request, AccessDenied("The user's organization or account is disabled."))
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    # The admin scope only for holders of an admin role (read only when asked for: not on the usual sign-in).
    granted = container.roles().grantable_scope(tenant_id, user.user_id, request.scope)
    code = container.authorization().issue_code(
        tenant_id,
        replace(request.code_request(), scope=granted),
        user,
        session,
        new_session=new_session,
        settings=settings,
        events=events,
        history=history,
    )
    return with_query(request.redirect_uri, {"code": code, "state": request.state, "iss": issuer_url(tenant_id)})


def login_page(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    *,
    status: int = 200,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    email: str | None = None,
    offer_resend: bool = False,
    passkey: dict[str, str] | None = None,
) -> HttpResponse:
    """The login page; ``passkey``: the options and sealed state of a passwordless ceremony to run at once."""
    from chalicelib.web.oidc.passkey_signin import login_context

    csrf, csrf_cookie = flow.csrf_token(http)
    flow_id = flow.seal(tenant_id, request.to_params(), csrf)
    registration_open = container.tenants().effective(tenant_id, client.tier_node_id).get("registration", "enabled")
    return page(
        http,
        "login.html",
        tenant_id=tenant_id,
        node_id=client.tier_node_id,
        ui_locales=request.ui_locales,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        form_targets=redirect_sources(client.redirect_uris),
        action_url=urls.page(tenant_id, "login"),
        csrf_token=csrf,
        flow_id=flow_id,
        email=email if email is not None else (request.login_hint or ""),
        client_name=client.name,
        error=error,
        field_errors=field_errors or {},
        register_url=links.register_url(tenant_id, flow_id) if registration_open else None,
        forgot_url=links.forgot_url(tenant_id),
        resend_url=links.resend_url(tenant_id) if offer_resend else None,
        **_federation_context(tenant_id, client, flow_id),
        **login_context(tenant_id, client, passkey),
    )


def _federation_context(tenant_id: TenantId, client: Client, flow_id: str) -> dict[str, Any]:
    """Provider buttons for the integrations effective for the client's node, and whether HRD is possible."""
    integrations = federation_flow.offered(tenant_id, client.tier_node_id)
    providers = [
        {
            "name": i.name,
            "display_name": i.display_name,
            "url": with_query(f"{issuer_url(tenant_id)}/federation/{i.name}/start", {"flow": flow_id}),
        }
        for i in integrations
    ]
    return {"providers": providers, "sso_available": any(i.domains for i in integrations)}


def requested_integration(
    tenant_id: TenantId, client: Client, request: AuthorizationRequest, params: dict[str, list[str]]
) -> IdentityProvider | None:
    """``?idp={name}``: the integration to go straight to; unknown or not effective for the client's node is an
    ``invalid_request`` sent back to the client."""
    try:
        name = single(params, "idp")
    except DuplicateParameter as error:
        raise fail(tenant_id, request, InvalidRequest(str(error))) from error
    if name is None:
        return None
    integration = federation_flow.find_offered(tenant_id, client.tier_node_id, name[:64])
    if integration is None:
        raise fail(tenant_id, request, InvalidRequest("Unknown identity provider."))
    return integration


def consent_page(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    user: User,
    cookies: list[str] | None = None,
) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        "consent.html",
        tenant_id=tenant_id,
        node_id=client.tier_node_id,
        ui_locales=request.ui_locales,
        cookies=[*(cookies or []), *([csrf_cookie] if csrf_cookie else [])],
        form_targets=redirect_sources(client.redirect_uris),
        action_url=urls.page(tenant_id, "consent"),
        csrf_token=csrf,
        flow_id=flow.seal(tenant_id, request.to_params(), csrf),
        client_name=client.name,
        user_email=user.email,
        scopes=[{"name": s, "description": ""} for s in request.scope],
    )


def session_cookie(tenant_id: TenantId, value: str, max_age: int) -> str:
    return cookie(SESSION_COOKIE, value, path=urls.cookie_path(tenant_id), max_age=max_age)


def continue_signed_in(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request: AuthorizationRequest,
    session: LoginSession,
    user: User,
) -> HttpResponse:
    """The user is authenticated: ask for missing profile attributes or consent if needed, else send the code."""
    from chalicelib.web.oidc.profiling import InteractionRequired, missing_attributes, profile_page

    missing = missing_attributes(tenant_id, client, user)
    if missing:
        if "none" in request.prompt:
            raise fail(tenant_id, request, InteractionRequired("The user must complete their profile."))
        return profile_page(http, tenant_id, client, request.to_params(), missing)
    forced = "consent" in request.prompt
    if container.consent().is_needed(tenant_id, client, user.user_id, request.scope, forced=forced):
        if "none" in request.prompt:
            raise fail(tenant_id, request, ConsentRequired("The user has not consented to this client."))
        return consent_page(http, tenant_id, client, request, user)
    return redirect(code_redirect(tenant_id, client, request, user, session, new_session=False))


def _authorize(http: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    client, request = parse_authorization_request(tree.tenant_id, http.params())
    integration = requested_integration(tree.tenant_id, client, request, http.params())
    resolved = container.sessions().resolve(tree.tenant_id, http.cookies().get(SESSION_COOKIE))
    if resolved is not None and needs_login(request, resolved[0]):
        resolved = None
    if resolved is None:
        if "none" in request.prompt:
            raise fail(tree.tenant_id, request, LoginRequired("The user is not signed in."))
        if integration is None and request.login_hint:  # home-realm discovery from the hint's domain
            integration = discover_by_email(
                request.login_hint, federation_flow.offered(tree.tenant_id, client.tier_node_id)
            )
        if integration is not None:
            return federation_flow.begin(
                http, tree.tenant_id, client, request.to_params(), integration, login_hint=request.login_hint
            )
        return login_page(http, tree.tenant_id, client, request)
    session, user = resolved
    from chalicelib.web.mfa.signin import for_session

    step_up = for_session(http, tree.tenant_id, client, request, session, user)
    if step_up is not None:
        return step_up
    return continue_signed_in(http, tree.tenant_id, client, request, session, user)


authorize_endpoint = page_endpoint(error_page)(_authorize)
