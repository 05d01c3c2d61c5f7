"""SCIM 2.0 endpoints (RFC 7644): discovery and Users, each a short list of steps.

Every call: resolve the tenant -> authorize the bearer token for that tenant (``authorize``) -> run. A token is
accepted only if this tenant's issuer signed it for this tenant's audience, it is live, it was issued to a client
itself (client_credentials: no user grant) and it carries the ``scim`` scope. The tenant of every read and write is
the one the token was verified for, so a token of one tenant never reaches another tenant's users.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib import container
from chalicelib.core.ids import ROOT_NODE, ClientId, TenantId
from chalicelib.services.audit import Actor
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import actor_of, audited
from chalicelib.web.errors import SCIM_JSON, ScimError, scim_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc.resources import bearer_token
from chalicelib.web.scim.discovery import MAX_RESULTS, resource_types, schemas, service_provider_config
from chalicelib.web.scim.filters import FilterAttributes, parse_filter
from chalicelib.web.scim.groups import GROUP_ATTRIBUTES, GROUP_FILTERS, parse_group, to_scim_group
from chalicelib.web.scim.patch import Attributes, apply_patch
from chalicelib.web.scim.users import USER_ATTRIBUTES, USER_FILTERS, parse_user, to_scim_user

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_SCOPE = "scim"
DEFAULT_COUNT = 100
JSON_TYPES = (SCIM_JSON, "application/json")


def authorize(request: HttpRequest, tenant: str, scope: str = SCIM_SCOPE) -> TenantId:
    """The tenant the bearer token is valid for, or ScimError 401 (no or bad token) / 403 (not for SCIM)."""
    return _authorize(request, tenant, scope)[0]


def authorize_actor(request: HttpRequest, tenant: str) -> Actor:
    """``authorize``, and the calling client as the actor of audit events (on the node its client is bound to)."""
    tenant_id, claims = _authorize(request, tenant, SCIM_SCOPE)
    client_id = str(claims.get("client_id", ""))
    client = container.clients().get(tenant_id, ClientId(client_id)) if client_id else None
    return actor_of(request, tenant_id, client_id, client.tier_node_id if client else ROOT_NODE)


def _authorize(request: HttpRequest, tenant: str, scope: str) -> tuple[TenantId, dict[str, Any]]:
    tenant_id = container.tenants().tree(tenant).tenant_id
    token = bearer_token(request)
    claims, _ = container.authorization().validate_access_token(tenant_id, token, need_user=False)
    if claims.get("gid") is not None:
        raise ScimError(403, "Use a client-credentials token of a service client.", bearer_error="insufficient_scope")
    if scope not in str(claims.get("scope", "")).split():
        raise ScimError(403, f"The access token does not carry the '{scope}' scope.", bearer_error="insufficient_scope")
    return tenant_id, claims


def base_url(tenant_id: TenantId) -> str:
    return f"{issuer_url(tenant_id)}/scim/v2"


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return json_response(body, status, {"Content-Type": SCIM_JSON, "Cache-Control": "no-store", **(headers or {})})


def read_body(request: HttpRequest) -> Any:
    if request.content_type not in JSON_TYPES:
        raise ScimError(415, f"Content-Type must be {SCIM_JSON}.", "invalidSyntax")
    try:
        return json.loads(request.body or b"")
    except ValueError as error:
        raise ScimError(400, "The body is not valid JSON.", "invalidSyntax") from error


def _method_not_allowed(request: HttpRequest) -> ScimError:
    return ScimError(405, f"{request.method} is not supported here.")


def _number(request: HttpRequest, name: str, default: int) -> int:
    values = request.query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError as error:
        raise ScimError(400, f"'{name}' must be an integer.", "invalidValue") from error


def _replacement(
    request: HttpRequest,
    current: Callable[[], dict[str, Any]],
    attributes: Attributes,
    filters: FilterAttributes,
) -> Any:
    """The resource a PUT or PATCH asks for: PUT's body, or the ``current`` resource with PATCH's operations applied
    (the body is read first, so a malformed one is refused before the resource is looked up)."""
    if request.method == "PUT":
        return read_body(request)
    if request.method == "PATCH":
        patch = read_body(request)
        return apply_patch(current(), patch, attributes, filters)
    raise _method_not_allowed(request)


def _list_response(resources: list[dict[str, Any]], request: HttpRequest) -> HttpResponse:
    """RFC 7644 §3.4.2.4: 1-based ``startIndex`` (values below 1 mean 1), ``count`` capped at maxResults."""
    start = max(1, _number(request, "startIndex", 1))
    count = min(MAX_RESULTS, max(0, _number(request, "count", DEFAULT_COUNT)))
    page = resources[start - 1 : start - 1 + count]
    return scim_response(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": len(resources),
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": page,
        }
    )


# --- discovery ---------------------------------------------------------------------------------------------


@scim_endpoint
def service_provider_config_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = authorize(request, tenant)
    if request.method != "GET":
        raise _method_not_allowed(request)
    return scim_response(service_provider_config(base_url(tenant_id)))


def _discovery(request: HttpRequest, tenant: str, documents: list[dict[str, Any]], wanted: str | None) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    if wanted is None:
        return _list_response(documents, request)
    found = next((d for d in documents if d["id"] == wanted), None)
    if found is None:
        raise ScimError(404, f"'{wanted}' is not known here.")
    return scim_response(found)


@scim_endpoint
def resource_types_endpoint(request: HttpRequest, tenant: str, wanted: str | None = None) -> HttpResponse:
    tenant_id = authorize(request, tenant)
    return _discovery(request, tenant, resource_types(base_url(tenant_id)), wanted)


@scim_endpoint
def schemas_endpoint(request: HttpRequest, tenant: str, wanted: str | None = None) -> HttpResponse:
    tenant_id = authorize(request, tenant)
    return _discovery(request, tenant, schemas(base_url(tenant_id)), wanted)


@scim_endpoint
def unknown_endpoint(request: HttpRequest, tenant: str, resource: str) -> HttpResponse:
    """Any other resource path: a SCIM 404 (after authorization, so it reveals nothing to strangers)."""
    authorize(request, tenant)
    raise ScimError(404, f"There is no '{resource[:64]}' endpoint here.")


# --- Users ---------------------------------------------------------------------------------------------------


@scim_endpoint
def users_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method == "GET":
        return _list_users(request, authorize(request, tenant))
    if request.method == "POST":
        actor = authorize_actor(request, tenant)
        with audited(actor, "scim.user.create") as note:
            response, note.target_id = _create_user(request, actor.tenant_id)
        return response
    authorize(request, tenant)
    raise _method_not_allowed(request)


def _list_users(request: HttpRequest, tenant_id: TenantId) -> HttpResponse:
    text = (request.query.get("filter") or [""])[0]
    predicate = parse_filter(text, USER_FILTERS) if text else None
    url = base_url(tenant_id)
    resources = [to_scim_user(u, url) for u in container.provisioning().list(tenant_id)]
    if predicate is not None:
        resources = [r for r in resources if predicate(r)]
    return _list_response(resources, request)


def _create_user(request: HttpRequest, tenant_id: TenantId) -> tuple[HttpResponse, str]:
    data, password = parse_user(read_body(request))
    settings = container.tenants().effective(tenant_id)
    user = container.provisioning().create(tenant_id, data, password=password, settings=settings)
    resource = to_scim_user(user, base_url(tenant_id))
    return scim_response(resource, 201, {"Location": resource["meta"]["location"]}), user.user_id


@scim_endpoint
def user_endpoint(request: HttpRequest, tenant: str, user_id: str) -> HttpResponse:
    if request.method == "GET":
        tenant_id = authorize(request, tenant)
        return scim_response(to_scim_user(container.provisioning().get(tenant_id, user_id), base_url(tenant_id)))
    if request.method not in WRITES:
        authorize(request, tenant)
        raise _method_not_allowed(request)
    actor = authorize_actor(request, tenant)
    with audited(actor, f"scim.user.{WRITES[request.method]}", user_id):
        return _write_user(request, actor.tenant_id, user_id)


WRITES = {"PUT": "replace", "PATCH": "patch", "DELETE": "delete"}


def _write_user(request: HttpRequest, tenant_id: TenantId, user_id: str) -> HttpResponse:
    url = base_url(tenant_id)
    if request.method == "DELETE":
        container.provisioning().delete(tenant_id, user_id)
        return HttpResponse(204, "", {"Cache-Control": "no-store"})
    body = _replacement(
        request,
        lambda: to_scim_user(container.provisioning().get(tenant_id, user_id), url),
        USER_ATTRIBUTES,
        USER_FILTERS,
    )
    data, password = parse_user(body)
    user = container.provisioning().replace(tenant_id, user_id, data)
    if password is not None:
        container.accounts().set_password(tenant_id, user.email, password, container.tenants().effective(tenant_id))
    return scim_response(to_scim_user(user, url))


# --- Groups --------------------------------------------------------------------------------------------------


@scim_endpoint
def groups_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method == "POST":
        actor = authorize_actor(request, tenant)
        with audited(actor, "scim.group.create") as note:
            group = container.groups().create(actor.tenant_id, parse_group(read_body(request)))
            note.target_id = group.group_id
        resource = to_scim_group(group, base_url(actor.tenant_id))
        return scim_response(resource, 201, {"Location": resource["meta"]["location"]})
    tenant_id = authorize(request, tenant)
    url = base_url(tenant_id)
    if request.method == "GET":
        text = (request.query.get("filter") or [""])[0]
        predicate = parse_filter(text, GROUP_FILTERS) if text else None
        resources = [to_scim_group(g, url) for g in container.groups().list(tenant_id)]
        return _list_response([r for r in resources if predicate is None or predicate(r)], request)
    raise _method_not_allowed(request)


@scim_endpoint
def group_endpoint(request: HttpRequest, tenant: str, group_id: str) -> HttpResponse:
    if request.method == "GET":
        tenant_id = authorize(request, tenant)
        return scim_response(to_scim_group(container.groups().get(tenant_id, group_id), base_url(tenant_id)))
    if request.method not in WRITES:
        authorize(request, tenant)
        raise _method_not_allowed(request)
    actor = authorize_actor(request, tenant)
    with audited(actor, f"scim.group.{WRITES[request.method]}", group_id):
        return _write_group(request, actor.tenant_id, group_id)


def _write_group(request: HttpRequest, tenant_id: TenantId, group_id: str) -> HttpResponse:
    url = base_url(tenant_id)
    if request.method == "DELETE":
        container.groups().delete(tenant_id, group_id)
        return HttpResponse(204, "", {"Cache-Control": "no-store"})
    body = _replacement(
        request,
        lambda: to_scim_group(container.groups().get(tenant_id, group_id), url),
        GROUP_ATTRIBUTES,
        GROUP_FILTERS,
    )
    group = container.groups().replace(tenant_id, group_id, parse_group(body))
    return scim_response(to_scim_group(group, url))
