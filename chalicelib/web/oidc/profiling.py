"""Progressive profiling: a client names the profile attributes it needs (``Client.required_attributes``); a user
who lacks one is asked for just those fields once, during sign-in, before consent and the code.

The page carries the sealed authorization request (``flow``) and relies on the browser's fresh SSO session, so
posting it continues the sign-in exactly where it stopped (``continue_signed_in``). Attribute names that are not
editable in the tenant (neither a standard name claim nor in ``attributes.schema``) are never asked for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib import container
from chalicelib.core.attributes import AttributeSpec, check_attributes
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import InvalidInput
from chalicelib.core.ids import TenantId
from chalicelib.services.account_profile import editable_fields
from chalicelib.web.errors import OAuthError, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.pages import error_page, page, redirect_sources

FIELD_ERRORS = {
    "required": "account.error.required",
    "invalid": "account.error.invalid",
    "format": "account.error.format",
    "too_long": "account.error.too_long",
}


class InteractionRequired(OAuthError):
    """OIDC Core §3.1.2.6: ``prompt=none`` but the user must fill in their profile first."""

    error = "interaction_required"


def missing_attributes(tenant_id: TenantId, client: Client, user: User) -> tuple[AttributeSpec, ...]:
    """The client's required attributes the user has no value for (each asked as required)."""
    if not client.required_attributes:
        return ()
    specs = editable_fields(container.tenants().effective(tenant_id, user.tier_node_id))
    return tuple(
        replace(spec, required=True)
        for spec in specs
        if spec.name in client.required_attributes and user.profile.get(spec.name) in (None, "", False)
    )


def profile_page(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    params: dict[str, Any],
    missing: tuple[AttributeSpec, ...],
    *,
    cookies: list[str] | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HttpResponse:
    from chalicelib.web.account.messages import attribute_label

    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        "complete_profile.html",
        tenant_id=tenant_id,
        node_id=client.tier_node_id,
        status=status,
        cookies=[*(cookies or []), *([csrf_cookie] if csrf_cookie else [])],
        form_targets=redirect_sources(client.redirect_uris),
        action_url=urls.page(tenant_id, "profile/complete"),
        csrf_token=csrf,
        flow_id=flow.seal(tenant_id, params, csrf),
        client_name=client.name,
        fields=[
            {
                "name": s.name,
                "label": s.label or attribute_label(s.name),
                "type": s.type,
                "value": (values or {}).get(s.name, ""),
            }
            for s in missing
        ],
        field_errors={k: FIELD_ERRORS.get(v, "account.error.invalid") for k, v in (errors or {}).items()},
    )


def _complete(http: HttpRequest, tenant: str) -> HttpResponse:
    from chalicelib.web.oidc.authorize import (
        SESSION_COOKIE,
        AuthorizationRequest,
        check_client,
        check_redirect_uri,
        continue_signed_in,
        login_page,
    )

    tenant_id = container.tenants().tree(tenant).tenant_id
    params = flow.unseal(tenant_id, http)
    request = AuthorizationRequest.from_params(params)
    client = check_client(tenant_id, request.client_id)
    check_redirect_uri(client, request.redirect_uri)
    resolved = container.sessions().resolve(tenant_id, http.cookies().get(SESSION_COOKIE))
    if resolved is None:
        return login_page(http, tenant_id, client, request, status=401, error="error.session_expired")
    session, user = resolved
    missing = missing_attributes(tenant_id, client, user)
    if missing:
        submitted = {s.name: (single(http.form(), s.name) or "").strip()[:256] for s in missing}
        _, errors = check_attributes(missing, submitted)
        settings = container.tenants().effective(tenant_id, user.tier_node_id)
        try:
            if errors:
                raise InvalidInput("Some fields are not valid.", fields=errors)
            container.account_profile().update_profile(user, dict(submitted), settings=settings, partial=True)
        except InvalidInput as failure:
            return profile_page(
                http, tenant_id, client, params, missing, status=400, errors=failure.fields, values=submitted
            )
        user = container.accounts().get(tenant_id, user.user_id)
    return continue_signed_in(http, tenant_id, client, request, session, user)


complete_profile_endpoint = page_endpoint(error_page)(_complete)
