"""RP-Initiated Logout 1.0: ends the browser's SSO session and the grants bound to it."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.digests import constant_time_equals
from chalicelib.core.entities import Client
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.services.audit import Origin, Scalar
from chalicelib.web.audit import record_user_event
from chalicelib.web.errors import InvalidRequest, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, expired_cookie, redirect, single, with_query
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.authorize import SESSION_COOKIE
from chalicelib.web.oidc.pages import error_page, page

FORWARDED = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales")


def _hint_claims(tenant_id: TenantId, hint: str | None) -> dict[str, Any] | None:
    if not hint:
        return None
    try:
        # The OP accepts expired ID tokens here (RP-Initiated Logout §2): only signature and issuer matter.
        return container.tokens().verify(tenant_id, hint, typ=None, audience=None, verify_exp=False)
    except TokenInvalid as error:
        raise InvalidRequest("The id_token_hint is not valid.") from error


def _client(tenant_id: TenantId, client_id: str | None, hint: dict[str, Any] | None) -> Client | None:
    audience = hint.get("aud") if hint else None
    hinted = audience[0] if isinstance(audience, list) and audience else audience
    if client_id and hinted and client_id != hinted:
        raise InvalidRequest("client_id does not match the id_token_hint.")
    wanted = client_id or hinted
    if not wanted:
        return None
    client = container.clients().get(tenant_id, str(wanted))
    if client is None:
        raise InvalidRequest("Unknown client.")
    return client


def _logout(http: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    tenant_id = tree.tenant_id
    params = http.params()
    values = {name: single(params, name) for name in FORWARDED}
    hint = _hint_claims(tenant_id, values["id_token_hint"])
    client = _client(tenant_id, values["client_id"], hint)
    return_uri = values["post_logout_redirect_uri"]
    if return_uri and (client is None or return_uri not in client.post_logout_redirect_uris):
        raise InvalidRequest("post_logout_redirect_uri is not registered for this client.")
    resolved = container.sessions().resolve(tenant_id, http.cookies().get(SESSION_COOKIE))
    confirmed = http.method == "POST" and single(params, "confirm") == "yes"
    if confirmed:
        csrf = http.cookies().get(flow.CSRF_COOKIE, "")
        if not csrf or not constant_time_equals(single(params, "csrf") or "", csrf):
            raise InvalidRequest("The form could not be verified (CSRF).")
    hint_matches = hint is not None and (
        resolved is None or hint.get("sid") == resolved[0].session_id or hint.get("sub") == resolved[1].user_id
    )
    if resolved is not None and not (hint_matches or confirmed):
        csrf_value, csrf_cookie = flow.csrf_token(http)
        return page(
            http,
            "logout.html",
            tenant_id=tenant_id,
            ui_locales=values["ui_locales"],
            cookies=[csrf_cookie] if csrf_cookie else [],
            action_url=urls.endpoint(tenant_id, "end_session_endpoint"),
            csrf_token=csrf_value,
            hidden={**{k: v for k, v in values.items() if v}, "confirm": "yes"},
            client_name=client.name if client else None,
        )
    if resolved is not None:
        session, user = resolved
        container.sessions().end(tenant_id, session.session_id)
        revoked = container.authorization().revoke_grants_of_session(
            tenant_id, user, session.session_id, Origin(http.source_ip, http.user_agent)
        )
        details: dict[str, Scalar] = {"client_id": client.client_id if client else "", "count": revoked}
        record_user_event(http, tenant_id, user.user_id, user.tier_node_id, "session.signed_out", details)
    cleared = expired_cookie(SESSION_COOKIE, path=urls.cookie_path(tenant_id))
    if return_uri:
        response = redirect(with_query(return_uri, {"state": values["state"]}))
    else:
        response = page(
            http,
            "logged_out.html",
            tenant_id=tenant_id,
            ui_locales=values["ui_locales"],
            return_url=None,
            client_name=client.name if client else None,
        )
    response.cookies.append(cleared)
    return response


logout_endpoint = page_endpoint(error_page)(_logout)
