"""Token endpoint: parse -> authenticate the client -> check the grant type -> dispatch (RFC 6749 §3.2)."""

from __future__ import annotations

from chalicelib import container
from chalicelib.web.errors import NO_STORE, InvalidRequest, UnauthorizedClient, UnsupportedGrantType, oauth_endpoint
from chalicelib.web.http import FORM, HttpRequest, HttpResponse, json_response, single
from chalicelib.web.oidc.client_auth import authenticate_client
from chalicelib.web.oidc.grants import CURRENT_REQUEST, GRANTS, request_origin


@oauth_endpoint
def token_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    if request.method != "POST":
        raise InvalidRequest("The token endpoint accepts POST only.", status=405)
    if request.content_type != FORM:
        raise InvalidRequest(f"Content-Type must be {FORM}.")
    form = request.form()
    client = authenticate_client(request, tree.tenant_id, "token_endpoint")
    grant_type = single(form, "grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required.")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"Unsupported grant_type '{grant_type[:40]}'.")
    if grant_type not in client.grant_types:
        raise UnauthorizedClient("This client may not use this grant type.")
    settings = container.tenants().effective(tree.tenant_id, client.tier_node_id)
    current = CURRENT_REQUEST.set(request)
    try:
        return json_response(grant(tree.tenant_id, client, form, settings), headers=NO_STORE)
    except Exception as error:
        container.token_events().refused(
            tree.tenant_id, client, grant_type=grant_type, reason=type(error).__name__, origin=request_origin()
        )
        raise
    finally:
        CURRENT_REQUEST.reset(current)
