"""Upstream OpenID Connect as a federation protocol: ``prepare`` (the authorization request) and the callback
``/t/{tenant}/federation/{idp}/callback``.

``state`` is the pending login's id (128 random bits): the callback accepts it only for a login of this integration
that is still waiting, from the browser that started it (CSRF cookie digest), and only once. The code is redeemed
with the PKCE verifier and the ID token validated (``services.upstream_oidc``) before ``flow.complete`` sees the
identity. An upstream error, a tampered state, code, nonce or ID token ends on an error page (and marks the login
failed where there is one); nothing is provisioned.
"""

from __future__ import annotations

import logging

from chalicelib import container
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.errors import CodeInvalid, DependencyUnavailable, DomainError
from chalicelib.core.federation import IdentityProvider
from chalicelib.core.ids import TenantId
from chalicelib.services.identity_providers import oidc_callback_url
from chalicelib.web.errors import InvalidRequest, page_endpoint
from chalicelib.web.federation import flow
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.oidc import flow as signin_flow
from chalicelib.web.oidc.pages import error_page

log = logging.getLogger("gatehouse.federation")
MAX_PARAM = 2048


def prepare(
    tenant_id: TenantId, integration: IdentityProvider, login_id: str, login_hint: str | None, *, fresh: bool = False
) -> tuple[str, dict[str, str]]:
    return container.upstream_oidc().authorization_url(
        integration,
        state=login_id,
        redirect_uri=oidc_callback_url(tenant_id, integration.name),
        login_hint=login_hint,
        fresh=fresh,
    )


def _callback(http: HttpRequest, tenant: str, idp: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    params = http.query
    state = single(params, "state") or ""
    if not state or len(state) > 64:
        raise InvalidRequest("The sign-in response has no valid state.")
    service = container.federation()
    try:
        login = service.pending(tenant_id, state, idp)
    except CodeInvalid as error:
        log.warning("federation: callback of %s/%s with unknown or used state", tenant_id, idp[:64])
        raise InvalidRequest("This sign-in response is unknown, expired or was already used.") from error
    cookie = http.cookies().get(signin_flow.CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(secret_digest(cookie), login.csrf_digest):
        raise InvalidRequest("This sign-in was started in another browser. Please start again from the application.")
    if single(params, "error") is not None:
        service.fail(tenant_id, login.login_id, "upstream_denied")
        return redirect(flow.continue_url(tenant_id, login.login_id))
    code = single(params, "code") or ""
    if not code or len(code) > MAX_PARAM:
        service.fail(tenant_id, login.login_id, "upstream_denied")
        raise InvalidRequest("The sign-in response has no authorization code.")
    integration = container.identity_providers().get(tenant_id, login.integration)
    try:
        upstream = container.upstream_oidc().redeem(
            integration,
            code=code,
            redirect_uri=oidc_callback_url(tenant_id, integration.name),
            protocol_state=login.protocol_state,
        )
    except DomainError as error:
        if isinstance(error, DependencyUnavailable):
            raise
        log.warning("federation: %s/%s response rejected: %s", tenant_id, idp[:64], error.detail)
        service.fail(tenant_id, login.login_id, "upstream_denied")
        raise InvalidRequest("The identity provider's answer could not be verified.") from error
    return flow.complete(tenant_id, login.login_id, upstream)


callback_endpoint = page_endpoint(error_page)(_callback)
