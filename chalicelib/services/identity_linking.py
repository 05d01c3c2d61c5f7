"""Linking another upstream identity to an account whose user is signed in (account portal, account API).

The upstream round trip is the federated sign-in's (``services.federation``: a ``FederatedLogin``, the protocol
adapters, InResponseTo/state/nonce/PKCE checks) with a ``LinkIntent`` on the login: who asked, through which grant
(the portal session or the app's access token). Such a login is never provisioned and never signs anybody in:

- ``start`` (portal): the login starts bound to the browser (CSRF cookie digest) and the portal session.
- ``issue_ticket`` / ``open_ticket`` (app): the account API gets a one-time secret for a ``link_url``; the first
  browser that opens it within ``TICKET_SECONDS`` binds the login to itself and goes upstream.
- ``complete``: after the adapter validated the upstream response (login ``asserted``), the same user, grant and
  browser consume the login once (``asserted`` -> ``completed``) and the link is written with a conditional put on
  the identity's lookup item: an upstream identity already linked to another account is refused, never moved.
  An ``identity.linked`` event goes to the user's activity and the audit trail (``identity.link_refused`` when
  the identity belongs to another account).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import User
from chalicelib.core.errors import AlreadyExists, CodeInvalid, Conflict, Forbidden, NotFound
from chalicelib.core.federation import FederatedLogin, IdentityProvider, LinkIntent, LinkVia
from chalicelib.core.ids import TenantId, new_secret
from chalicelib.core.ports import FederatedIdentityRepository
from chalicelib.services.audit import AuditService
from chalicelib.services.federation import FederationService
from chalicelib.services.identity_providers import IdentityProviderService

log = logging.getLogger(__name__)

TICKET_SECONDS = 120  # an app's link_url must be opened this soon
LINKED = "identity.linked"
LINK_REFUSED = "identity.link_refused"  # the upstream identity belongs to another account
UPSTREAM_DENIED = "upstream_denied"


class IdentityTaken(Conflict):
    """The upstream identity is already linked to another account (linking it would hand that account over)."""

    public = "This identity is already linked to another account. Nothing was changed."


class ProviderAlreadyLinked(Conflict):
    """The account already has an identity at this provider; unlink it first."""

    public = "An identity at this provider is already linked to your account. Unlink it first."


class LinkRefused(Forbidden):
    """The link request belongs to another user, session or browser, or its session has ended."""

    public = "This link request does not belong to your session. Nothing was changed; please start again."


@dataclass(frozen=True)
class LinkOutcome:
    integration: str
    subject: str
    created: bool  # False: the identity was already linked to this account


class IdentityLinkingService:
    def __init__(
        self,
        federation: FederationService,
        identities: FederatedIdentityRepository,
        integrations: IdentityProviderService,
        audit: AuditService,
    ) -> None:
        self._federation = federation
        self._identities = identities
        self._integrations = integrations
        self._audit = audit

    def check_linkable(self, tenant_id: TenantId, user: User, integration: str) -> None:
        """ProviderAlreadyLinked when the user already has an identity at ``integration``."""
        if any(i.integration == integration for i in self._identities.list_for_user(tenant_id, user.user_id)):
            raise ProviderAlreadyLinked(detail=f"{integration} already linked")

    def start(
        self,
        tenant_id: TenantId,
        login_id: str,
        integration: IdentityProvider,
        user: User,
        intent: LinkIntent,
        *,
        csrf_digest: str,
        protocol_state: dict[str, str],
    ) -> FederatedLogin:
        """A portal link: the login waits for the upstream response, bound to the browser and the session."""
        self.check_linkable(tenant_id, user, integration.name)
        return self._federation.start(
            tenant_id, login_id, integration, user.tier_node_id, None, csrf_digest, protocol_state, link=intent
        )

    def issue_ticket(
        self, tenant_id: TenantId, login_id: str, integration: IdentityProvider, user: User, grant_id: str, jti: str
    ) -> str:
        """An app's link: the one-time secret of its ``link_url`` (only its digest is stored)."""
        self.check_linkable(tenant_id, user, integration.name)
        secret = new_secret()
        intent = LinkIntent(user.user_id, grant_id, jti, "app", secret_digest(secret))
        self._federation.start(
            tenant_id, login_id, integration, user.tier_node_id, None, "", {}, link=intent, status="issued"
        )
        return secret

    def ticket(self, tenant_id: TenantId, login_id: str, secret: str) -> FederatedLogin:
        """The unopened, unexpired app link the secret belongs to; CodeInvalid otherwise."""
        login = self._federation.get(tenant_id, login_id)
        link = login.link
        if (
            link is None
            or link.via != "app"
            or login.status != "issued"
            or not constant_time_equals(secret_digest(secret), link.ticket_digest)
            or login.created_at + TICKET_SECONDS < clock.now()
        ):
            raise CodeInvalid("This link has expired or was already used. Start again in the app.", detail="ticket")
        return login

    def open_ticket(
        self, tenant_id: TenantId, login: FederatedLogin, *, csrf_digest: str, protocol_state: dict[str, str]
    ) -> FederatedLogin:
        """issued -> started, once: the first browser that opens the link is the only one that can finish it."""
        return self._federation.move(
            tenant_id,
            login.login_id,
            expected=("issued",),
            status="started",
            changes={"csrf_digest": csrf_digest, "protocol_state": protocol_state},
        )

    def intent_of(self, tenant_id: TenantId, login_id: str) -> FederatedLogin:
        """A link login (any status) while unexpired; CodeInvalid for anything else."""
        login = self._federation.get(tenant_id, login_id)
        if login.link is None:
            raise CodeInvalid(detail="not a link login")
        return login

    def refuse(self, tenant_id: TenantId, login: FederatedLogin, reason: str) -> None:
        """End a link login that was presented wrongly (it can never complete afterwards)."""
        try:
            self._federation.fail(tenant_id, login.login_id, reason)
        except CodeInvalid:
            log.info("link login %s already final when refused (%s)", login.login_id, reason)

    def complete(
        self,
        tenant_id: TenantId,
        login: FederatedLogin,
        user: User,
        *,
        grant_id: str,
        via: LinkVia,
        source_ip: str,
        user_agent: str,
    ) -> LinkOutcome:
        """Consume the asserted link login once and link its upstream identity to ``user``."""
        intent = login.link
        if intent is None or intent.via != via or intent.user_id != user.user_id or intent.grant_id != grant_id:
            self.refuse(tenant_id, login, "link_refused")
            raise LinkRefused(detail="link intent of another user, grant or channel")
        if login.status == "failed" and login.error == UPSTREAM_DENIED:
            raise CodeInvalid("The identity provider did not confirm the link. Nothing was changed.", detail="denied")
        consumed = self._federation.move(
            tenant_id, login.login_id, expected=("asserted",), status="completed", changes={"completed_at": clock.now()}
        )
        upstream = consumed.upstream
        if upstream is None:
            raise CodeInvalid(detail="asserted link login without upstream identity")
        try:
            integration = self._integrations.get(tenant_id, consumed.integration)
        except NotFound as error:
            raise CodeInvalid("This identity provider is no longer available.", detail="integration gone") from error
        existing = self._identities.get(tenant_id, integration.name, upstream.subject)
        if existing is not None and existing.user_id != user.user_id:
            self._record(tenant_id, user, integration.name, via, source_ip, user_agent, outcome="failure")
            raise IdentityTaken(detail="upstream identity linked to another account")
        if existing is not None:
            return LinkOutcome(integration.name, upstream.subject, created=False)
        self.check_linkable(tenant_id, user, integration.name)
        try:
            record, skipped = self._federation.save_identity(tenant_id, integration, upstream, user, None)
        except AlreadyExists as error:  # linked to another account meanwhile: the conditional put refused it
            self._record(tenant_id, user, integration.name, via, source_ip, user_agent, outcome="failure")
            raise IdentityTaken(detail="lost the race for the identity's lookup item") from error
        self._record(
            tenant_id,
            user,
            integration.name,
            via,
            source_ip,
            user_agent,
            roles=",".join(record.roles)[:256],
            roles_skipped=",".join(skipped)[:256],
        )
        return LinkOutcome(integration.name, upstream.subject, created=True)

    def _record(
        self,
        tenant_id: TenantId,
        user: User,
        integration: str,
        via: str,
        source_ip: str,
        user_agent: str,
        *,
        outcome: str = "success",
        **details: str,
    ) -> None:
        """The user's own ``identity.linked`` (or ``identity.link_refused``) event: their activity and the audit
        trail."""
        self._audit.append(
            self._audit.user_event(
                tenant_id,
                user.user_id,
                LINK_REFUSED if outcome == "failure" else LINKED,
                node_id=user.tier_node_id,
                source_ip=source_ip,
                user_agent=user_agent,
                outcome="failure" if outcome == "failure" else "success",
                details={"integration": integration[:64], "via": via, **details},
            )
        )
