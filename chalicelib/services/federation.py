"""Federated sign-in, protocol-neutral: the pending login across the upstream round trip, and just-in-time
provisioning of the account behind an upstream identity.

Lifecycle of a ``FederatedLogin`` (each arrow one conditional write, so every step happens once):
``started`` (the browser went to the upstream IdP) -> ``asserted`` (a protocol adapter validated the upstream
response and handed over an ``UpstreamIdentity``) -> ``provisioned`` (the account is found, linked or created;
or ``link_required``: an account with that email exists and the integration's policy is ``sign_in``, so the user
must prove ownership with the account's password; or ``failed`` with a reason) -> ``completed`` (the session and
authorization code were issued).

Provisioning (``provision``) maps the upstream attributes through the integration's mapping, finds the account by
its federated identity, else links an existing account with the same email only as the linking policy allows
(``verified_email``: both sides verified; ``sign_in``: after the password proof; ``none``: never), else creates
it; then updates the mapped attributes (also on every re-login), computes the roles the mapped groups confer, and
records the federated identity and an audit event. It is idempotent: run again, it finds what it created.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import User
from chalicelib.core.errors import AlreadyExists, CodeInvalid, DomainError, InvalidInput, NotFound
from chalicelib.core.federation import (
    FederatedIdentity,
    FederatedLogin,
    IdentityProvider,
    UpstreamIdentity,
    map_attributes,
    roles_for_groups,
)
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.ports import (
    FederatedIdentityRepository,
    FederatedLoginRepository,
    ProvisioningRepository,
    UserRepository,
)
from chalicelib.services.accounts import PROFILE_CLAIMS, AccountService, check_email
from chalicelib.services.audit import Actor, AuditService
from chalicelib.services.identity_providers import IdentityProviderService
from chalicelib.services.tenants import TenantService

log = logging.getLogger(__name__)

LOGIN_SECONDS = 900  # from the redirect to the upstream IdP until the code is issued
NAME_FIELDS = ("given_name", "family_name", "name")

# Why provisioning failed: stable codes shown (translated) on the error page.
NO_EMAIL = "no_email"
ACCOUNT_EXISTS = "account_exists"
ACCOUNT_DISABLED = "account_disabled"
INTEGRATION_GONE = "integration_unavailable"


class ProvisioningFailed(DomainError):
    """The upstream identity cannot be provisioned (``reason`` is one of the codes above)."""

    public = "The account could not be provisioned."

    def __init__(self, reason: str, *, detail: str = "") -> None:
        super().__init__(detail=detail or reason)
        self.reason = reason


class LinkRequired(DomainError):
    """An account with this email exists; the user must sign in to it to link the upstream identity."""

    def __init__(self, user_id: UserId) -> None:
        super().__init__(detail="link by sign-in required")
        self.user_id = user_id


class FederationService:
    def __init__(
        self,
        logins: FederatedLoginRepository,
        identities: FederatedIdentityRepository,
        integrations: IdentityProviderService,
        tenants: TenantService,
        accounts: AccountService,
        users: UserRepository,
        provisioning: ProvisioningRepository,
        audit: AuditService,
    ) -> None:
        self._logins = logins
        self._identities = identities
        self._integrations = integrations
        self._tenants = tenants
        self._accounts = accounts
        self._users = users
        self._provisioning = provisioning
        self._audit = audit

    # --- the pending login ------------------------------------------------------------------------------------

    def start(
        self,
        tenant_id: TenantId,
        login_id: str,
        integration: IdentityProvider,
        node_id: NodeId,
        request: dict[str, Any] | None,
        csrf_digest: str,
        protocol_state: dict[str, str],
    ) -> FederatedLogin:
        now = clock.now()
        login = FederatedLogin(
            tenant_id=tenant_id,
            login_id=login_id,
            integration=integration.name,
            node_id=node_id,
            request=request,
            csrf_digest=csrf_digest,
            created_at=now,
            expires_at=now + LOGIN_SECONDS,
            protocol_state=protocol_state,
        )
        self._logins.create(login)
        return login

    def get(self, tenant_id: TenantId, login_id: str) -> FederatedLogin:
        """The login (any status) while unexpired; CodeInvalid otherwise."""
        login = self._logins.get(tenant_id, login_id) if 0 < len(login_id) <= 64 else None
        if login is None or login.expires_at <= clock.now():
            raise CodeInvalid("This sign-in has expired. Please start again.", detail="unknown or expired login")
        return login

    def pending(self, tenant_id: TenantId, login_id: str, integration: str) -> FederatedLogin:
        """A login waiting for the upstream response of ``integration``; CodeInvalid otherwise."""
        login = self.get(tenant_id, login_id)
        if login.status != "started" or login.integration != integration:
            raise CodeInvalid("This sign-in has already been used or belongs elsewhere.", detail="not pending")
        return login

    def accept(self, tenant_id: TenantId, login_id: str, upstream: UpstreamIdentity) -> FederatedLogin:
        """Record the validated upstream identity (once: a replayed response finds the login already asserted)."""
        return self._logins.transition(
            tenant_id,
            login_id,
            expected=("started",),
            status="asserted",
            now=clock.now(),
            changes={"upstream": upstream},
        )

    def fail(self, tenant_id: TenantId, login_id: str, reason: str) -> FederatedLogin:
        expected = ("started", "asserted", "provisioning", "link_required")
        return self._logins.transition(
            tenant_id, login_id, expected=expected, status="failed", now=clock.now(), changes={"error": reason}
        )

    def confirm_link(self, tenant_id: TenantId, login_id: str, user_id: UserId) -> FederatedLogin:
        """The user signed in to the account the login waits for: provisioning may now link it."""
        login = self.get(tenant_id, login_id)
        if login.status != "link_required" or login.user_id != user_id:
            raise CodeInvalid(detail="no link waits for this account")
        return self._logins.transition(
            tenant_id,
            login_id,
            expected=("link_required",),
            status="asserted",
            now=clock.now(),
            changes={"linked_by": "sign_in"},
        )

    def finish(self, tenant_id: TenantId, login_id: str) -> tuple[FederatedLogin, User]:
        """provisioned -> completed, once; the active account to sign in."""
        login = self._logins.transition(
            tenant_id,
            login_id,
            expected=("provisioned",),
            status="completed",
            now=clock.now(),
            changes={"completed_at": clock.now()},
        )
        user = self._users.get(tenant_id, login.user_id) if login.user_id else None
        if user is None or user.status != "active":
            raise CodeInvalid("This account cannot sign in.", detail="provisioned account gone or inactive")
        return login, user

    # --- provisioning -----------------------------------------------------------------------------------------

    def provision(self, tenant_id: TenantId, login_id: str) -> FederatedLogin:
        """Run just-in-time provisioning for an asserted login; the login ends provisioned, link_required or
        failed. Idempotent."""
        login = self.get(tenant_id, login_id)
        if login.status not in ("asserted", "provisioning"):
            return login
        try:
            user, linked_by, identity = self.resolve_account(tenant_id, login)
            self.record_identity(tenant_id, login, user, linked_by, identity)
        except LinkRequired as wanted:
            return self._logins.transition(
                tenant_id,
                login_id,
                expected=("asserted", "provisioning"),
                status="link_required",
                now=clock.now(),
                changes={"user_id": wanted.user_id},
            )
        except ProvisioningFailed as failure:
            log.info("federated login %s not provisioned: %s", login_id, failure.detail)
            return self.fail(tenant_id, login_id, failure.reason)
        return self._logins.transition(
            tenant_id,
            login_id,
            expected=("asserted", "provisioning"),
            status="provisioned",
            now=clock.now(),
            changes={"user_id": user.user_id, "linked_by": linked_by},
        )

    def _integration(self, tenant_id: TenantId, name: str) -> IdentityProvider:
        try:
            integration = self._integrations.get(tenant_id, name)
        except NotFound as error:
            raise ProvisioningFailed(INTEGRATION_GONE) from error
        if not integration.enabled:
            raise ProvisioningFailed(INTEGRATION_GONE, detail="integration disabled")
        return integration

    def resolve_account(self, tenant_id: TenantId, login: FederatedLogin) -> tuple[User, str, FederatedIdentity | None]:
        """Find, link or create the account; (user, how it was found, the existing identity link or None)."""
        upstream = login.upstream
        if upstream is None:
            raise ProvisioningFailed(INTEGRATION_GONE, detail="no upstream identity")
        integration = self._integration(tenant_id, login.integration)
        mapped = map_attributes(integration.mapping(), upstream.attributes)
        identity = self._identities.get(tenant_id, integration.name, upstream.subject)
        if identity is not None:
            user = self._users.get(tenant_id, identity.user_id)
            if user is not None:
                return self._updated(user, mapped, upstream, integration), "identity", identity
        try:
            email = check_email(mapped.get("email"))
        except InvalidInput as error:
            raise ProvisioningFailed(NO_EMAIL, detail="no usable email in the upstream attributes") from error
        existing_id = self._users.find_user_id_by_email(tenant_id, email)
        if existing_id is None:
            return self._create(tenant_id, integration, email, mapped, upstream), "created", None
        existing = self._users.get(tenant_id, existing_id)
        if existing is None or existing.status != "active":
            raise ProvisioningFailed(ACCOUNT_DISABLED, detail="the matching account is not active")
        if login.linked_by == "sign_in" and login.user_id == existing.user_id:
            return self._updated(existing, mapped, upstream, integration), "sign_in", None
        if integration.linking == "verified_email" and upstream.email_verified and existing.email_verified:
            return self._updated(existing, mapped, upstream, integration), "verified_email", None
        if integration.linking == "sign_in":
            raise LinkRequired(existing.user_id)
        raise ProvisioningFailed(ACCOUNT_EXISTS, detail=f"linking policy {integration.linking} refuses the link")

    def _create(
        self,
        tenant_id: TenantId,
        integration: IdentityProvider,
        email: str,
        mapped: dict[str, Any],
        upstream: UpstreamIdentity,
    ) -> User:
        profile = {k: mapped[k] for k in NAME_FIELDS if k in mapped}
        try:
            return self._accounts.create_user(
                tenant_id,
                email=email,
                password=None,
                settings=self._tenants.effective(tenant_id, integration.node_id),
                verified=upstream.email_verified,
                status="active",
                profile=profile,
                tier_node_id=integration.node_id,
            )
        except AlreadyExists:  # created meanwhile (a parallel login): use it if it is ours to link
            user_id = self._users.find_user_id_by_email(tenant_id, email)
            user = self._users.get(tenant_id, user_id) if user_id else None
            if user is None:
                raise
            return user

    def _updated(
        self, user: User, mapped: dict[str, Any], upstream: UpstreamIdentity, integration: IdentityProvider
    ) -> User:
        """Re-login: the mapped profile attributes (and a changed email) follow the upstream."""
        profile = dict(user.profile)
        for key in NAME_FIELDS:
            if key in mapped and key in PROFILE_CLAIMS:
                profile[key] = mapped[key]
        email, verified = user.email, user.email_verified
        try:
            new_email = check_email(mapped["email"]) if "email" in mapped else email
        except InvalidInput:
            new_email = email
        if new_email != email and upstream.email_verified:
            email, verified = new_email, True
        if profile == user.profile and email == user.email and verified == user.email_verified:
            return user
        updated = replace(user, profile=profile, email=email, email_verified=verified, updated_at=clock.now())
        try:
            self._provisioning.replace_user(updated, previous_email=user.email)
        except AlreadyExists:  # the new address belongs to another account: keep the old one
            updated = replace(updated, email=user.email, email_verified=user.email_verified)
            self._provisioning.replace_user(updated, previous_email=user.email)
        return updated

    def record_identity(
        self,
        tenant_id: TenantId,
        login: FederatedLogin,
        user: User,
        linked_by: str,
        identity: FederatedIdentity | None,
    ) -> FederatedIdentity:
        """Write the federated identity with the roles its mapped groups confer, and one audit event."""
        upstream = login.upstream
        if upstream is None:
            raise ProvisioningFailed(INTEGRATION_GONE, detail="no upstream identity")
        integration = self._integration(tenant_id, login.integration)
        groups = tuple(map_attributes(integration.mapping(), upstream.attributes).get("groups", ()))
        roles = tuple(roles_for_groups(integration.role_mapping, groups))
        now = clock.now()
        record = FederatedIdentity(
            tenant_id=tenant_id,
            integration=integration.name,
            subject=upstream.subject,
            user_id=user.user_id,
            created_at=identity.created_at if identity else now,
            last_login_at=now,
            roles=roles,
            groups=groups,
        )
        try:
            self._identities.save(record, create=identity is None)
        except AlreadyExists:  # written by an earlier run of this step
            existing = self._identities.get(tenant_id, integration.name, upstream.subject)
            if existing is None or existing.user_id != user.user_id:
                raise
            record = replace(record, created_at=existing.created_at)
            self._identities.save(record, create=False)
        action = {"created": "federation.user.create", "identity": "federation.user.login"}.get(
            linked_by, "federation.user.link"
        )
        actor = Actor(tenant_id, f"idp:{integration.name}", integration.node_id, "", "")
        self._audit.record(
            actor,
            action,
            user.user_id,
            node_id=user.tier_node_id,
            details={"integration": integration.name, "linked_by": linked_by, "roles": ",".join(roles)[:256]},
        )
        return record
