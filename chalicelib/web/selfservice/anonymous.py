"""Anonymous access (native authentication API): ``POST /t/{tenant}/authn/anonymous`` issues a short-lived
anonymous identity's tokens to an authenticated client whose tier allows it (OAuth JSON errors, like the token
endpoint); ``POST /t/{tenant}/authn/anonymous/upgrade`` (bearer: the anonymous identity's access token, JSON
``{"email", "password"}``) turns it into a registered account with the same ``sub``.
"""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.errors import Forbidden, ScopeNotAllowed, TokenInvalid
from chalicelib.services.audit import Origin
from chalicelib.web.errors import (
    NO_STORE,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    oauth_endpoint,
)
from chalicelib.web.http import FORM, BadRequest, HttpRequest, HttpResponse, json_response, single
from chalicelib.web.oidc.client_auth import authenticate_client
from chalicelib.web.oidc.grants import parse_scope
from chalicelib.web.oidc.resources import bearer_token
from chalicelib.web.selfservice.api import _body, _text, authn_endpoint


@oauth_endpoint
def anonymous_signin_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    if request.method != "POST":
        raise InvalidRequest("Use POST.", status=405)
    if request.content_type != FORM:
        raise InvalidRequest(f"Content-Type must be {FORM}.")
    client = authenticate_client(request, tree.tenant_id, "token_endpoint")
    settings = container.tenants().effective(tree.tenant_id, client.tier_node_id)
    try:
        tokens = container.anonymous().sign_in(
            tree.tenant_id,
            client,
            parse_scope(single(request.form(), "scope")),
            settings,
            Origin(request.source_ip, request.user_agent),
        )
    except Forbidden as error:
        raise UnauthorizedClient("Anonymous sign-in is not enabled for this client.") from error
    except ScopeNotAllowed as error:
        raise InvalidScope("An anonymous identity cannot get this scope.") from error
    return json_response(tokens, headers=NO_STORE)


@authn_endpoint
def anonymous_upgrade_api(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    if request.method != "POST":
        raise BadRequest("Use POST.", 405)
    _, user = container.authorization().validate_access_token(tree.tenant_id, bearer_token(request), need_user=True)
    if user is None:
        raise TokenInvalid(detail="no user behind the token")
    body = _body(request)
    settings = container.tenants().effective(tree.tenant_id, user.tier_node_id)
    upgraded = container.anonymous().upgrade(
        tree.tenant_id, user, _text(body, "email"), _text(body, "password"), settings
    )
    return json_response(
        {"sub": upgraded.user_id, "email": upgraded.email, "status": upgraded.status}, 202, dict(NO_STORE)
    )
