"""The SAML SP's Assertion Consumer Service: ``POST /t/{tenant}/saml/{idp}/acs`` (HTTP-POST binding).

The ACS validates the posted Response completely (``responses.accept_response``) before anything else happens.
A solicited response continues the pending federated login its InResponseTo was issued for (RelayState must
agree); an unsolicited one starts an IdP-initiated login where the integration allows it. Either way the
protocol-neutral ``UpstreamIdentity`` goes to the federation seam, which provisions the account and issues the
code. Every rejection is an HTML error page and a ``federation.saml_rejected`` audit event; none creates an
account or a session.
"""

from __future__ import annotations

import logging

from chalicelib import container
from chalicelib.core.errors import CodeInvalid, DomainError
from chalicelib.core.federation import IdentityProvider
from chalicelib.core.saml import SamlIdentity
from chalicelib.services.audit import Actor
from chalicelib.web.errors import SamlError, saml_endpoint
from chalicelib.web.federation import flow
from chalicelib.web.http import HttpRequest, HttpResponse, single
from chalicelib.web.oidc.pages import error_page
from chalicelib.web.saml.integrations import saml_integration
from chalicelib.web.saml.protocol import check_fresh, upstream_identity
from chalicelib.web.saml.responses import accept_response

log = logging.getLogger("gatehouse.saml")
MAX_RELAY_STATE = 80  # SAML bindings §3.4.3: at most 80 bytes


def _acs(http: HttpRequest, tenant: str, idp: str) -> HttpResponse:
    integration, config = saml_integration(tenant, idp)
    try:
        if http.method != "POST":
            raise SamlError("invalid_request", "the ACS accepts the HTTP-POST binding only", status=405)
        form = http.form()
        relay_state = single(form, "RelayState")
        accepted = accept_response(config, single(form, "SAMLResponse"))
        upstream = upstream_identity(integration, accepted.identity)
        if accepted.flow is None:
            login_id = flow.begin_unsolicited(integration.tenant_id, integration)
        else:
            login_id = str(accepted.flow.get("login_id", ""))
            _check_pending_login(integration, login_id, relay_state, accepted.identity)
    except (SamlError, DomainError) as error:
        _record_rejection(http, integration, error)
        raise
    return flow.complete(integration.tenant_id, login_id, upstream)


def _check_pending_login(
    integration: IdentityProvider, login_id: str, relay_state: str | None, identity: SamlIdentity
) -> None:
    """The login our (now consumed) request was issued for still waits for exactly this answer; RelayState, if
    the IdP sent it back, names the same login; a ForceAuthn request was answered by a fresh authentication."""
    if relay_state is not None and (len(relay_state) > MAX_RELAY_STATE or relay_state != login_id):
        raise SamlError("relay_state_mismatch", "RelayState does not name the login this request was issued for")
    try:
        login = container.federation().pending(integration.tenant_id, login_id, integration.name)
    except CodeInvalid as error:
        raise SamlError("request_unknown", "the login this request was issued for is no longer waiting") from error
    if login.protocol_state.get("request_id") != identity.in_response_to:
        raise SamlError("request_unknown", "the pending login waits for another request")
    check_fresh(login.protocol_state, identity)


def _record_rejection(http: HttpRequest, integration: IdentityProvider, error: Exception) -> None:
    """A security event in the tenant's audit trail (reason codes only, never message content)."""
    reason = error.reason if isinstance(error, SamlError) else type(error).__name__
    detail = error.detail if isinstance(error, SamlError | DomainError) else ""
    log.warning("saml: %s/%s response rejected: %s %s", integration.tenant_id, integration.name, reason, detail)
    actor = Actor(
        integration.tenant_id,
        f"saml:{integration.name}",
        integration.node_id,
        http.source_ip,
        http.user_agent,
    )
    try:
        container.audit().record(
            actor,
            "federation.saml_rejected",
            integration.name,
            outcome="failure",
            details={"reason": reason, "detail": detail[:256]},
        )
    except Exception:  # the rejection stands even if its event cannot be stored
        log.exception("saml: rejection of %s could not be audited", integration.name)


acs_endpoint = saml_endpoint(error_page)(_acs)
