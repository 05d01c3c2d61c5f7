"""Ports: the Protocols services depend on. Storage and outbound adapters satisfy them structurally.

Every repository method takes the tenant id first. Contracts on errors are stated per method: where a method
says it raises a core error, adapters translate their own failures (for example ConditionalCheckFailed) to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from chalicelib.core.entities import (
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    Group,
    LoginSession,
    PasswordLogin,
    Role,
    RoleAssignment,
    SigningKey,
    TenantTree,
    TierNode,
    User,
    Verification,
    VerificationKind,
)
from chalicelib.core.ids import ClientId, NodeId, TenantId, UserId


class TenantRepository(Protocol):
    def load_tree(self, tenant_id: TenantId) -> TenantTree | None:
        """All nodes of a customer tenant, or None if the tenant does not exist."""

    def create_node(self, node: TierNode) -> None:
        """Create a node; raises AlreadyExists if the slug is taken under the same parent."""

    def update_node(self, node: TierNode) -> None:
        """Replace a node's name, status and settings; raises NotFound if it does not exist."""

    def list_customers(self) -> list[TenantId]:
        """Operator use only: the ids of all customer tenants."""

    def rename_node(self, node: TierNode, old_slug: str) -> None:
        """Replace the node under a new slug (guards moved in one transaction); AlreadyExists if it is taken."""

    def delete_node(self, node: TierNode) -> None:
        """Delete the node and its slug guards; NotFound if it is gone."""


class ClientRepository(Protocol):
    def get(self, tenant_id: TenantId, client_id: ClientId) -> Client | None: ...

    def create(self, client: Client) -> None:
        """Raises AlreadyExists if the client id is taken in this tenant."""

    def replace(self, client: Client) -> None:
        """Raises NotFound if the client does not exist."""

    def list(self, tenant_id: TenantId) -> list[Client]: ...

    def delete(self, tenant_id: TenantId, client_id: ClientId) -> bool:
        """False if there was no such client."""


class UserRepository(Protocol):
    """Users without credentials (profile, status)."""

    def get(self, tenant_id: TenantId, user_id: UserId) -> User | None: ...

    def find_user_id_by_email(self, tenant_id: TenantId, email: str) -> UserId | None: ...


class CredentialRepository(Protocol):
    """Privileged: password hashes. Injected only into authentication services."""

    def create_user_with_password(self, user: User, password_hash: str | None) -> None:
        """Create the user and its email guard in one transaction; raises AlreadyExists if the email is taken."""

    def get_password_login(self, tenant_id: TenantId, email: str) -> PasswordLogin | None: ...

    def get_login_with_throttles(
        self, tenant_id: TenantId, email: str, throttle_subjects: Sequence[str]
    ) -> tuple[PasswordLogin | None, dict[str, dict[str, int]]]:
        """The login record and the named throttle counters, in one round trip."""

    def set_password_hash(self, tenant_id: TenantId, email: str, password_hash: str) -> None: ...


class ProvisioningRepository(Protocol):
    """Privileged (it moves and deletes email guards): user provisioning for SCIM and the admin API."""

    def list_users(self, tenant_id: TenantId) -> list[User]:
        """Every user of the tenant (tenant-scoped query; callers filter)."""

    def replace_user(self, user: User, *, previous_email: str) -> None:
        """Write the user, moving the email guard when the email changed. NotFound, AlreadyExists (new email
        taken) or Conflict (changed meanwhile)."""

    def delete_user(self, tenant_id: TenantId, user_id: UserId) -> bool:
        """Delete the user and its email guard; False if there was no such user."""


class GroupRepository(Protocol):
    def create(self, group: Group) -> None:
        """Raises AlreadyExists if the group id is taken in this tenant."""

    def get(self, tenant_id: TenantId, group_id: str) -> Group | None: ...

    def replace(self, group: Group) -> None:
        """Raises NotFound if the group does not exist."""

    def delete(self, tenant_id: TenantId, group_id: str) -> bool:
        """False if there was no such group."""

    def list(self, tenant_id: TenantId) -> list[Group]:
        """Every group of the tenant (tenant-scoped query; callers filter)."""

    def set_members(self, group: Group, *, previous: tuple[UserId, ...]) -> None:
        """Replace the members only if they still are ``previous``; Conflict otherwise, NotFound if gone."""


class ThrottleRepository(Protocol):
    def record_failure(
        self,
        tenant_id: TenantId,
        subject: str,
        *,
        now: int,
        window: int,
        threshold: int,
        base_block: int,
        max_block: int,
    ) -> dict[str, int]:
        """Count one failure for ``subject``; block it with a growing duration past the threshold."""

    def reset(self, tenant_id: TenantId, subject: str) -> None: ...


class SigningKeyRepository(Protocol):
    def list(self, tenant_id: TenantId) -> list[SigningKey]: ...

    def add(self, key: SigningKey) -> None: ...

    def retire(self, tenant_id: TenantId, kid: str, *, retired_at: int, publish_until: int) -> None: ...


class AuthorizationRepository(Protocol):
    """Authorization codes and browser sessions."""

    def save_code(self, code: AuthorizationCode, session: LoginSession | None) -> None:
        """Store a code (and, on a fresh sign-in, the new session) in one transaction."""

    def consume_code(
        self,
        tenant_id: TenantId,
        code_digest: str,
        *,
        client_id: ClientId,
        redirect_uri: str,
        code_challenge: str | None,
        now: int,
    ) -> AuthorizationCode:
        """Mark the code used and return it. Raises CodeInvalid if it is unknown, expired, already used, bound
        to another client or redirect URI, or the PKCE challenge differs; ``CodeInvalid.reused_grant_id`` is set
        when it had been used before."""

    def save_session(self, session: LoginSession) -> None: ...

    def get_session_with_user(
        self, tenant_id: TenantId, session_id: str, user_id: UserId
    ) -> tuple[LoginSession | None, User | None]:
        """The session and its user in one round trip."""

    def get_session(self, tenant_id: TenantId, session_id: str) -> LoginSession | None: ...

    def revoke_session(self, tenant_id: TenantId, session_id: str, *, now: int) -> None: ...

    def list_sessions(self, tenant_id: TenantId, user_id: UserId) -> list[LoginSession]: ...


class GrantRepository(Protocol):
    def create(self, grant: Grant) -> None:
        """Raises AlreadyExists if the grant exists (a code can create its grant once)."""

    def get(self, tenant_id: TenantId, grant_id: str) -> Grant | None: ...

    def rotate(
        self,
        tenant_id: TenantId,
        grant_id: str,
        *,
        generation: int,
        presented_digest: str,
        new_digest: str,
        client_id: ClientId,
        now: int,
        grace_seconds: int,
    ) -> Grant:
        """Rotate the refresh token. Raises CodeInvalid (``reuse_detected`` set when a rotated token came back
        outside the grace window; the grant is then revoked)."""

    def revoke(self, tenant_id: TenantId, grant_id: str, *, now: int) -> None: ...

    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[Grant]: ...

    def get_token_state(
        self, tenant_id: TenantId, *, grant_id: str | None, jti: str, user_id: UserId | None
    ) -> tuple[Grant | None, bool, User | None]:
        """(grant, jti revoked?, user) in one round trip: the access-token liveness check."""

    def revoke_access_token(self, tenant_id: TenantId, jti: str, *, expires_at: int) -> None: ...

    def use_client_assertion(self, tenant_id: TenantId, client_id: ClientId, jti: str, *, expires_at: int) -> None:
        """Record a client assertion id; raises CodeInvalid if it was seen before (replay)."""


class ConsentRepository(Protocol):
    def get(self, tenant_id: TenantId, user_id: UserId, client_id: ClientId) -> Consent | None: ...

    def grant(self, consent: Consent) -> None: ...

    def revoke(self, tenant_id: TenantId, user_id: UserId, client_id: ClientId) -> None: ...

    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[Consent]: ...


class AuditRepository(Protocol):
    """Audit events of a tenant (a separate table, kept 400 days)."""

    def append(self, event: AuditEvent, *, expires_at: int) -> None: ...

    def list_events(
        self,
        tenant_id: TenantId,
        *,
        limit: int,
        before: str | None = None,
        action: str | None = None,
        node_ids: frozenset[NodeId] | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first, only events older than the ``before`` event id, of that ``action`` (or action prefix
        ending in ``.``) and within ``node_ids`` when given; with the event id to continue from, or None at the end."""


class KeyEncryption(Protocol):
    """Envelope encryption under the service KMS key; the context binds a ciphertext to its owner."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes: ...


class EmailSender(Protocol):
    def send(self, *, to: str, subject: str, text: str, html: str | None = None, from_name: str | None = None) -> None:
        """Raises DependencyUnavailable if the message could not be handed to the mail service."""


class VerificationRepository(Protocol):
    """Privileged (it writes password hashes): pending accounts, their email links, activation, email moves."""

    def create_pending_account(self, user: User, password_hash: str | None, verification: Verification) -> None:
        """User, email guard (login item) and verification in one transaction; AlreadyExists if the email is taken."""

    def delete_pending_account(self, tenant_id: TenantId, user_id: UserId, verification_id: str) -> bool:
        """Delete the user, its email guard and the verification in one transaction, only while the user is still
        pending and the link unused; False (nothing deleted) otherwise."""

    def get(self, tenant_id: TenantId, verification_id: str) -> Verification | None: ...

    def save(self, verification: Verification) -> None:
        """Create or replace: a new reset or email-change request replaces the previous one (and its link)."""

    def issue_link(
        self,
        tenant_id: TenantId,
        verification_id: str,
        *,
        link_digest: str,
        expires_at: int,
        now: int,
        task_token: str | None = None,
        max_sends: int | None = None,
    ) -> Verification:
        """Replace the link (earlier links stop working) and, when given, the task token of an unused verification.
        Raises CodeInvalid if it is gone, already used, or has been sent ``max_sends`` times."""

    def consume(
        self,
        tenant_id: TenantId,
        verification_id: str,
        *,
        kind: VerificationKind,
        link_digest: str,
        now: int,
        set_password: tuple[str, str] | None = None,
    ) -> Verification:
        """Use the link once: unexpired, of this kind, with this digest. ``set_password`` = (email, hash) sets the
        account's password in the same transaction. Raises CodeInvalid."""

    def mark_sent(self, tenant_id: TenantId, verification_id: str, *, now: int) -> None:
        """Record that the current link's email went out (registration waits for this)."""

    def activate(self, tenant_id: TenantId, user_id: UserId, *, now: int) -> bool:
        """pending -> active with the email verified; False if the user was not pending (idempotent)."""

    def change_email(self, tenant_id: TenantId, verification_id: str, *, link_digest: str, now: int) -> tuple[str, str]:
        """Use an email-change link and move the email guard (with the password) to the new address and the
        user to it, all in one transaction; returns (old, new). CodeInvalid for a bad link, AlreadyExists if the
        new address was taken meanwhile."""


class WorkflowEngine(Protocol):
    def start(self, workflow: str, *, name: str, payload: dict[str, Any]) -> None:
        """Start an execution of the named workflow; the same name and payload again is a no-op. Raises
        DependencyUnavailable."""

    def complete_task(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume a task waiting for its token; False if it no longer waits. Raises DependencyUnavailable."""


class HumanVerifier(Protocol):
    def verify(self, token: str, *, remote_ip: str) -> bool:
        """True if the CAPTCHA token proves a human; raises DependencyUnavailable if the provider is unreachable."""


Json = dict[str, Any]
__all__ = ["Json", "NodeId"]


class RoleRepository(Protocol):
    """Custom role definitions and every role assignment (built-in roles are defined in code)."""

    def create_role(self, role: Role) -> None:
        """Raises AlreadyExists if a role of that name exists in the tenant."""

    def get_role(self, tenant_id: TenantId, name: str) -> Role | None: ...

    def list_roles(self, tenant_id: TenantId) -> list[Role]: ...

    def delete_role(self, tenant_id: TenantId, name: str) -> bool:
        """False if there was no such role. Raises Conflict while anybody holds it."""

    def assign(self, assignment: RoleAssignment, *, custom_role: bool) -> None:
        """Write the assignment in one transaction with checks that the user (and, for ``custom_role``, the role
        definition) exist. Raises AlreadyExists if held already, NotFound if the user or role is gone."""

    def unassign(self, tenant_id: TenantId, user_id: UserId, role: str, node_id: NodeId) -> bool:
        """False if the user did not hold that role at that node."""

    def assignments_of(self, tenant_id: TenantId, user_id: UserId) -> list[RoleAssignment]:
        """Every role the user holds (one query)."""

    def holders(self, tenant_id: TenantId, role: str) -> list[RoleAssignment]:
        """Every assignment of the role in the tenant."""


class AnonymousRepository(Protocol):
    """Anonymous identities (kept out of the tenant's user lists, removed by TTL unless upgraded)."""

    def create_anonymous(self, user: User, grant: Grant, *, expires_at: int) -> None:
        """The identity and its grant in one transaction."""

    def upgrade(self, user: User, password_hash: str, verification: Verification) -> None:
        """Turn the still-anonymous identity into ``user`` (pending, with its email) with its email guard and
        verification, in one transaction. AlreadyExists if the email is taken, NotFound if the identity is gone
        or no longer anonymous."""
