"""The federation seam: how a protocol adapter (SAML SP, upstream OIDC RP) plugs into the hosted sign-in.

Starting (``begin``). The sign-in flow decides to use integration X (a button on the login page, home-realm
discovery by email domain, or ``?idp=X`` on the authorization request) and calls ``begin``. It creates a
``FederatedLogin`` (``services.federation``) that holds the validated authorization request, the digest of the
browser's CSRF cookie (binding the login to this browser) and the protocol's own state, then redirects the browser
to the URL the protocol returns. A protocol is a module named in ``PROTOCOLS`` (imported only when used, so
pysaml2 never loads at cold start) with::

    def prepare(tenant_id: TenantId, integration: IdentityProvider, login_id: str,
                login_hint: str | None, *, fresh: bool = False) -> tuple[str, dict[str, str]]:
        '''(URL to send the browser to, protocol state kept with the login), e.g. the AuthnRequest redirect
        with RelayState=login_id and {"request_id": <AuthnRequest ID>}; OIDC: state=login_id, nonce, verifier.
        ``fresh``: the upstream must authenticate the user anew (state ``fresh_since``, checked on return).'''

An integration whose kind has no protocol module is not offered (not on the login page, ``?idp=`` unknown).

Returning (``complete``). The protocol's endpoint (SAML ACS, OIDC callback) takes the login id back from
RelayState/state, loads the login with ``container.federation().pending(tenant_id, login_id, integration.name)``
(raises CodeInvalid unless it is waiting for exactly this integration: checks InResponseTo against
``login.protocol_state``), validates the upstream response completely, and only then calls
``complete(tenant_id, login_id, upstream)`` with a ``core.federation.UpstreamIdentity`` (integration name,
upstream subject, raw attributes by name, authn time, amr, email_verified). ``complete`` records it (once: a
replayed response fails with CodeInvalid), starts just-in-time provisioning and returns the redirect to the
login's continue page (``/t/{tenant}/federation/logins/{login_id}``). That page checks the browser binding, shows
the interstitial while provisioning runs, asks for the password when the linking policy wants a sign-in, shows
failures with a retry, and finally issues the session and the authorization code exactly like a password login.
Rejections before ``complete`` are the adapter's to show; they never create an account or a session.

IdP-initiated logins (SAML unsolicited responses, where the integration allows them): ``begin_unsolicited``
creates a login without an authorization request and without a browser binding (the POST comes from the IdP's
site, so the browser's SameSite cookies are not sent), then ``complete`` as above; the continue page signs the
user in (session cookie) and shows a "signed in" page.

Linking (``begin_link``, ``open_link_ticket``): a signed-in user links another identity from the account portal
or an app. The login carries a ``LinkIntent`` and the same protocol round trip runs; ``complete`` then sends the
browser to ``/t/{tenant}/account/link/{login_id}`` instead of provisioning, where the same user, session and
browser finish the link (``web.account.linking``). Nobody is signed in.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, cast

from chalicelib import container
from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import Client, User
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.federation import IdentityProvider, LinkIntent, UpstreamIdentity
from chalicelib.core.ids import NodeId, TenantId, new_id
from chalicelib.services.tokens import issuer_url
from chalicelib.web.http import HttpRequest, HttpResponse, redirect
from chalicelib.web.oidc import flow as signin_flow

PROTOCOLS: dict[str, str] = {
    "oidc": "chalicelib.web.federation.oidc_rp",
    "saml": "chalicelib.web.saml.protocol",
}


class ProtocolModule(Protocol):
    def prepare(
        self,
        tenant_id: TenantId,
        integration: IdentityProvider,
        login_id: str,
        login_hint: str | None,
        *,
        fresh: bool = False,
    ) -> tuple[str, dict[str, str]]: ...


def protocol_for(kind: str) -> ProtocolModule:
    return cast("ProtocolModule", importlib.import_module(PROTOCOLS[kind]))


def offered(tenant_id: TenantId, node_id: NodeId) -> list[IdentityProvider]:
    """The integrations effective for a client's node whose protocol is available."""
    return [i for i in container.identity_providers().effective(tenant_id, node_id) if i.kind in PROTOCOLS]


def find_offered(tenant_id: TenantId, node_id: NodeId, name: str) -> IdentityProvider | None:
    integration = container.identity_providers().find_effective(tenant_id, node_id, name)
    return integration if integration is not None and integration.kind in PROTOCOLS else None


def continue_url(tenant_id: TenantId, login_id: str) -> str:
    return f"{issuer_url(tenant_id)}/federation/logins/{login_id}"


def begin(
    http: HttpRequest,
    tenant_id: TenantId,
    client: Client,
    request_params: dict[str, Any],
    integration: IdentityProvider,
    *,
    login_hint: str | None = None,
) -> HttpResponse:
    """Send the browser to ``integration`` for the pending authorization request. ``prompt=login`` (or
    ``max_age=0``) asks the upstream for a fresh sign-in too (OIDC ``prompt=login``, SAML ``ForceAuthn``), and the
    answer must show one (``fresh_since`` in the protocol state)."""
    csrf, csrf_cookie = signin_flow.csrf_token(http)
    login_id = new_id()
    fresh = "login" in request_params.get("prompt", ()) or request_params.get("max_age") == 0
    url, state = protocol_for(integration.kind).prepare(tenant_id, integration, login_id, login_hint, fresh=fresh)
    container.federation().start(
        tenant_id, login_id, integration, client.tier_node_id, request_params, secret_digest(csrf), state
    )
    response = redirect(url)
    if csrf_cookie:
        response.cookies.append(csrf_cookie)
    return response


def begin_unsolicited(tenant_id: TenantId, integration: IdentityProvider) -> str:
    """A login for an IdP-initiated response (no authorization request, no browser binding); its id."""
    login_id = new_id()
    container.federation().start(tenant_id, login_id, integration, integration.node_id, None, "", {})
    return login_id


def complete(tenant_id: TenantId, login_id: str, upstream: UpstreamIdentity) -> HttpResponse:
    """Hand over a fully validated upstream identity; provisioning starts, the browser goes to the continue page.
    A login that links an identity to a signed-in user is never provisioned: the account pages finish it."""
    login = container.federation().accept(tenant_id, login_id, upstream)
    if login.link is not None:
        return redirect(link_return_url(tenant_id, login_id))
    container.federation().start_provisioning(tenant_id, login_id)
    return redirect(continue_url(tenant_id, login_id))


# --- linking another identity to a signed-in account (``services.identity_linking``) ---------------------------


def link_return_url(tenant_id: TenantId, login_id: str) -> str:
    """Where a link login comes back to: the account pages (where the portal's session cookie is sent)."""
    return f"{issuer_url(tenant_id)}/account/link/{login_id}"


def begin_link(
    http: HttpRequest, tenant_id: TenantId, integration: IdentityProvider, user: User, intent: LinkIntent
) -> HttpResponse:
    """Send the signed-in user's browser to ``integration`` to link the identity found there (no sign-in)."""
    csrf, csrf_cookie = signin_flow.csrf_token(http)
    login_id = new_id()
    url, state = protocol_for(integration.kind).prepare(tenant_id, integration, login_id, None)
    container.identity_linking().start(
        tenant_id, login_id, integration, user, intent, csrf_digest=secret_digest(csrf), protocol_state=state
    )
    response = redirect(url)
    if csrf_cookie:
        response.cookies.append(csrf_cookie)
    return response


def open_link_ticket(http: HttpRequest, tenant_id: TenantId, login_id: str, secret: str) -> HttpResponse:
    """An app's ``link_url``: the first browser to open it (in time) is bound to the link and goes upstream."""
    linking = container.identity_linking()
    login = linking.ticket(tenant_id, login_id, secret)
    integration = container.identity_providers().get(tenant_id, login.integration)
    if integration.kind not in PROTOCOLS or not integration.enabled:
        raise CodeInvalid("This identity provider is no longer available.", detail="integration not offered")
    csrf, csrf_cookie = signin_flow.csrf_token(http)
    url, state = protocol_for(integration.kind).prepare(tenant_id, integration, login_id, None)
    linking.open_ticket(tenant_id, login, csrf_digest=secret_digest(csrf), protocol_state=state)
    response = redirect(url)
    if csrf_cookie:
        response.cookies.append(csrf_cookie)
    return response
