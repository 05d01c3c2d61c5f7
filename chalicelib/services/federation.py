"""Federated sign-in, protocol-neutral: the pending login across the upstream round trip, and just-in-time
provisioning of the account behind an upstream identity.

Lifecycle of a ``FederatedLogin`` (each arrow one conditional write, so every step happens once):
``started`` (the browser went to the upstream IdP) -> ``asserted`` (a protocol adapter validated the upstream
response and handed over an ``UpstreamIdentity``) -> ``provisioned`` (the account is found, linked or created;
or ``link_required``: an account with that email exists and the integration's policy is ``sign_in``, so the user
must prove ownership with the account's password; or ``failed`` with a reason) -> ``completed`` (the session and
authorization code were issued).
A login carrying a ``LinkIntent`` (a signed-in user linking another identity, ``services.identity_linking``)
never provisions: ``started`` -> ``asserted`` -> ``completed`` when the link is written (an app's link ticket
starts at ``issued`` until a browser opens it).

Provisioning (the ``jit_provisioning`` workflow: ``resolve``, ``record``, ``notify``) maps the upstream
attributes through the integration's mapping, finds the account by its federated identity, else links an existing
account with the same email only as the linking policy allows (``verified_email``: both sides verified;
``sign_in``: after the password proof; ``none``: never), else creates it; then updates the mapped attributes (also
on every re-login), computes the roles the mapped groups confer, records the federated identity and an audit
event, and tells the tenant's webhook. Every step is idempotent: run again, it finds what it did. The execution
input is the tenant and login ids only.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import User
from chalicelib.core.errors import (
    AlreadyExists,
    CodeInvalid,
    DependencyUnavailable,
    DomainError,
    InvalidInput,
    NotFound,
)
from chalicelib.core.federation import (
    FederatedIdentity,
    FederatedLogin,
    FederatedLoginStatus,
    IdentityProvider,
    LinkIntent,
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
    WorkflowEngine,
)
from chalicelib.services.accounts import PROFILE_CLAIMS, AccountService, check_email
from chalicelib.services.audit import Actor, AuditService
from chalicelib.services.identity_providers import IdentityProviderService
from chalicelib.services.roles import RoleService
from chalicelib.services.tenants import TenantService
from chalicelib.services.webhooks import WebhookService

log = logging.getLogger(__name__)

LOGIN_SECONDS = 900  # from the redirect to the upstream IdP until the code is issued
NAME_FIELDS = ("given_name", "family_name", "name")

# Why provisioning failed: stable codes shown (translated) on the error page.
NO_EMAIL = "no_email"
ACCOUNT_EXISTS = "account_exists"
ACCOUNT_DISABLED = "account_disabled"
INTEGRATION_GONE = "integration_unavailable"
WORKFLOW_FAILED = "workflow_failed"
WORKFLOW = "jit_provisioning"


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
        workflows: WorkflowEngine,
        webhooks: WebhookService,
        roles: RoleService,
    ) -> None:
        self._logins = logins
        self._identities = identities
        self._integrations = integrations
        self._tenants = tenants
        self._accounts = accounts
        self._users = users
        self._provisioning = provisioning
        self._audit = audit
        self._workflows = workflows
        self._webhooks = webhooks
        self._roles = roles

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
        *,
        link: LinkIntent | None = None,
        status: FederatedLoginStatus = "started",
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
            link=link,
            status=status,
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

    def move(
        self,
        tenant_id: TenantId,
        login_id: str,
        *,
        expected: tuple[str, ...],
        status: FederatedLoginStatus,
        changes: dict[str, Any] | None = None,
    ) -> FederatedLogin:
        """One conditional status change of an unexpired login (CodeInvalid when it is not in ``expected``)."""
        return self._logins.transition(
            tenant_id, login_id, expected=expected, status=status, now=clock.now(), changes=changes
        )

    def fail(self, tenant_id: TenantId, login_id: str, reason: str) -> FederatedLogin:
        """The login ends in failure; recorded right after as ``federation.failed`` with its reason."""
        expected = ("started", "asserted", "provisioning", "link_required")
        failed = self._logins.transition(
            tenant_id, login_id, expected=expected, status="failed", now=clock.now(), changes={"error": reason}
        )
        actor = Actor(tenant_id, f"idp:{failed.integration}", failed.node_id, "", "")
        try:
            self._audit.record(
                actor,
                "federation.failed",
                failed.user_id or "",
                outcome="failure",
                details={"integration": failed.integration, "reason": reason[:64]},
            )
        except Exception:  # the login is already marked failed: losing its event must not hide that page
            log.exception("federation.failed event could not be stored")
        return failed

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

    # --- the just-in-time provisioning workflow (infra/statemachines/jit_provisioning.asl.json) ----------------

    def start_provisioning(self, tenant_id: TenantId, login_id: str, *, attempt: str = "a") -> None:
        """Start the workflow for an asserted login (input: ids only); if it cannot start, the login fails."""
        try:
            self._workflows.start(
                WORKFLOW,
                name=f"{tenant_id[:40]}-{login_id}-{attempt}",
                payload={"tenant_id": tenant_id, "login_id": login_id},
            )
        except DependencyUnavailable as error:
            log.warning("provisioning workflow for %s could not start: %s", login_id, error.detail)
            self.fail(tenant_id, login_id, WORKFLOW_FAILED)

    def resolve(self, tenant_id: TenantId, login_id: str) -> str:
        """Task 1: map attributes and find, link or create the account. ``resolved``, ``link_required`` or
        ``failed`` (the login says why). Idempotent: a login past this step reports its outcome again."""
        login = self._stored(tenant_id, login_id)
        if login.status in ("provisioning", "provisioned", "completed"):
            return "resolved"
        if login.status == "link_required":
            return "link_required"
        if login.status != "asserted":
            return "failed"
        try:
            user, linked_by, _ = self.resolve_account(tenant_id, login)
        except LinkRequired as wanted:
            self._logins.transition(
                tenant_id,
                login_id,
                expected=("asserted",),
                status="link_required",
                now=clock.now(),
                changes={"user_id": wanted.user_id},
            )
            return "link_required"
        except ProvisioningFailed as failure:
            log.info("federated login %s not provisioned: %s", login_id, failure.detail)
            self.fail(tenant_id, login_id, failure.reason)
            return "failed"
        self._logins.transition(
            tenant_id,
            login_id,
            expected=("asserted",),
            status="provisioning",
            now=clock.now(),
            changes={"user_id": user.user_id, "linked_by": linked_by},
        )
        return "resolved"

    def record(self, tenant_id: TenantId, login_id: str) -> dict[str, Any]:
        """Task 2: apply the role mapping and record the federated identity and its audit event; the login is
        then provisioned (the browser may complete it). Idempotent."""
        login = self._stored(tenant_id, login_id)
        if login.status in ("provisioned", "completed"):
            return {"status": login.status}
        user = self._users.get(tenant_id, login.user_id) if login.user_id else None
        if login.status != "provisioning" or user is None or login.upstream is None:
            raise CodeInvalid(detail=f"login {login_id} is {login.status}, not provisioning")
        existing = self._identities.get(tenant_id, login.integration, login.upstream.subject)
        identity = self.record_identity(tenant_id, login, user, login.linked_by or "created", existing)
        self._logins.transition(tenant_id, login_id, expected=("provisioning",), status="provisioned", now=clock.now())
        return {"status": "provisioned", "roles": list(identity.roles)}

    def notify(self, tenant_id: TenantId, login_id: str) -> bool:
        """Task 3: the tenant's webhook hears about the provisioned account (False: no webhook configured).
        WebhookDeliveryFailed makes the workflow retry; the event id stays the same."""
        login = self._stored(tenant_id, login_id)
        if login.status not in ("provisioned", "completed") or login.user_id is None or login.upstream is None:
            return False
        user = self._users.get(tenant_id, login.user_id)
        identity = self._identities.get(tenant_id, login.integration, login.upstream.subject)
        if user is None or identity is None:
            return False
        event = {
            "type": "user.provisioned",
            "tenant": tenant_id,
            "occurred_at": identity.last_login_at,  # stable across retries, like the event id
            "integration": login.integration,
            "linked_by": login.linked_by,
            "user": {
                "id": user.user_id,
                "email": user.email,
                "email_verified": user.email_verified,
                "profile": {k: user.profile[k] for k in NAME_FIELDS if k in user.profile},
            },
            "groups": list(identity.groups),
            "roles": list(identity.roles),
        }
        return self._webhooks.deliver(tenant_id, f"provisioned-{login_id}", event)

    def fail_provisioning(self, tenant_id: TenantId, login_id: str) -> None:
        """The workflow's failure path: the login shows the error with a retry (no-op if already final)."""
        try:
            self.fail(tenant_id, login_id, WORKFLOW_FAILED)
        except CodeInvalid:
            log.info("federated login %s already final when the workflow failed", login_id)

    def _stored(self, tenant_id: TenantId, login_id: str) -> FederatedLogin:
        login = self._logins.get(tenant_id, login_id)
        if login is None:
            raise CodeInvalid(detail=f"no federated login {login_id}")
        return login

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
            if user is not None and user.status != "active":
                raise ProvisioningFailed(ACCOUNT_DISABLED, detail="the linked account is not active")
            if user is not None:
                updated = self._updated(user, mapped, upstream, email_follows=identity.owns_email)
                return updated, "identity", identity
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
            return self._updated(existing, mapped, upstream, email_follows=False), "sign_in", None
        if integration.linking == "verified_email" and upstream.email_verified and existing.email_verified:
            return self._updated(existing, mapped, upstream, email_follows=False), "verified_email", None
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

    def _updated(self, user: User, mapped: dict[str, Any], upstream: UpstreamIdentity, *, email_follows: bool) -> User:
        """Re-login: the mapped profile attributes follow the upstream; a changed (verified) email only when
        ``email_follows``: the account was created from this identity. An account the user linked to a provider
        keeps the address the user chose (otherwise a linked work or social identity would take over the sign-in
        email)."""
        profile = dict(user.profile)
        for key in NAME_FIELDS:
            if key in mapped and key in PROFILE_CLAIMS:
                profile[key] = mapped[key]
        email, verified = user.email, user.email_verified
        try:
            new_email = check_email(mapped["email"]) if "email" in mapped else email
        except InvalidInput:
            new_email = email
        if new_email != email and upstream.email_verified and email_follows:
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
        record, skipped = self.save_identity(
            tenant_id, integration, upstream, user, identity, created_account=linked_by == "created"
        )
        action = {"created": "federation.user.create", "identity": "federation.user.login"}.get(
            linked_by, "federation.user.link"
        )
        actor = Actor(tenant_id, f"idp:{integration.name}", integration.node_id, "", "")
        self._audit.record(
            actor,
            action,
            user.user_id,
            node_id=user.tier_node_id,
            details={
                "integration": integration.name,
                "linked_by": linked_by,
                "roles": ",".join(record.roles)[:256],
                "roles_skipped": ",".join(skipped)[:256],
            },
        )
        return record

    def save_identity(
        self,
        tenant_id: TenantId,
        integration: IdentityProvider,
        upstream: UpstreamIdentity,
        user: User,
        identity: FederatedIdentity | None,
        *,
        created_account: bool = False,
    ) -> tuple[FederatedIdentity, list[str]]:
        """Write the link with the roles its mapped groups confer; (the link, mapped roles skipped). Without
        ``identity`` the write is conditional: AlreadyExists when the upstream identity is linked to another
        account (an earlier run of the same step, for the same account, is not an error)."""
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
            owns_email=identity.owns_email if identity else created_account,
        )
        try:
            self._identities.save(record, create=identity is None)
        except AlreadyExists:  # written by an earlier run of this step
            existing = self._identities.get(tenant_id, integration.name, upstream.subject)
            if existing is None or existing.user_id != user.user_id:
                raise
            record = replace(record, created_at=existing.created_at)
            self._identities.save(record, create=False)
        skipped = self._sync_roles(tenant_id, integration, user, roles, identity.roles if identity else ())
        return record, skipped

    def _sync_roles(
        self,
        tenant_id: TenantId,
        integration: IdentityProvider,
        user: User,
        roles: tuple[str, ...],
        previous: tuple[str, ...],
    ) -> list[str]:
        """Hold exactly the mapped roles at the integration's node: assign the new ones, drop the ones this
        integration mapped before and no longer maps (roles given by an admin are never touched). A mapping to a
        role that does not exist or cannot be held there is skipped (and named in the audit event), not fatal.
        Safe to repeat: an assignment already held, or a removal already done, is not an error."""
        skipped: list[str] = []
        for role in roles:
            try:
                self._roles.assign(tenant_id, user.user_id, role, integration.node_id, by=f"idp:{integration.name}")
            except AlreadyExists:
                continue
            except (NotFound, InvalidInput):
                skipped.append(role)
        for role in set(previous) - set(roles):
            try:
                self._roles.unassign(tenant_id, user.user_id, role, integration.node_id)
            except NotFound:
                continue
        return skipped
