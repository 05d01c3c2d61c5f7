"""Ports: the Protocols services depend on. Storage and outbound adapters satisfy them structurally.

Every repository method takes the tenant id first. Contracts on errors are stated per method: where a method
says it raises a core error, adapters translate their own failures (for example ConditionalCheckFailed) to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core.entities import (
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    ConsentReceipt,
    DataExport,
    FactorUse,
    Grant,
    Group,
    LoginSession,
    MfaChallenge,
    MfaEnrollment,
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

if TYPE_CHECKING:  # types of signatures only: not loaded by routes that never need them (cold start)
    from chalicelib.core.federation import FederatedIdentity, FederatedLogin, IdentityProvider, Webhook
    from chalicelib.core.risk import HistoryUpdate, RiskProfile
    from chalicelib.core.saml import SamlRequest, SamlSpKey


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

    def get_with_risk_profile(self, tenant_id: TenantId, user_id: UserId) -> tuple[User | None, RiskProfile]:
        """The user and their sign-in history (empty if none) in one round trip: a password sign-in needs both."""


class CredentialRepository(Protocol):
    """Privileged: password hashes. Injected only into authentication services."""

    def create_user_with_password(self, user: User, password_hash: str | None) -> None:
        """Create the user and its email guard in one transaction; raises AlreadyExists if the email is taken."""

    def get_password_login(self, tenant_id: TenantId, email: str) -> PasswordLogin | None: ...

    def get_login_with_throttles(
        self, tenant_id: TenantId, email: str, throttle_subjects: Sequence[str]
    ) -> tuple[PasswordLogin | None, dict[str, dict[str, int]]]:
        """The login record and the named throttle counters, in one round trip."""

    def set_password_hash(
        self, tenant_id: TenantId, email: str, password_hash: str, *, replaces: str | None = None
    ) -> bool:
        """Store a new hash; with ``replaces``, only while the stored hash is still that one (False otherwise)."""


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

    def save_code(
        self,
        code: AuthorizationCode,
        session: LoginSession | None,
        events: Sequence[AuditEvent] = (),
        history: HistoryUpdate | None = None,
    ) -> None:
        """Store a code (and, on a fresh sign-in, the new session, the sign-in's audit events and the user's
        updated sign-in history) in one transaction."""

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

    def record_session_authentication(
        self, tenant_id: TenantId, session_id: str, *, amr: tuple[str, ...], acr: str, auth_time: int
    ) -> None:
        """Step-up: store what the session's user has now proven; raises CodeInvalid if the session is gone."""


class GrantRepository(Protocol):
    def create(self, grant: Grant, events: Sequence[AuditEvent] = ()) -> None:
        """Raises AlreadyExists if the grant exists (a code can create its grant once); ``events`` (the token
        issue's audit events) are written in the same request."""

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

    def append_batch(self, events: Sequence[AuditEvent]) -> int:
        """Store events delivered from the log channel; idempotent (the event id is the key, the item is the same
        on every delivery); returns how many were written."""

    def list_events(
        self,
        tenant_id: TenantId,
        *,
        limit: int,
        before: str | None = None,
        action: str | None = None,
        node_ids: frozenset[NodeId] | None = None,
        subject: str | None = None,
        since: str | None = None,
    ) -> tuple[list[AuditEvent], str | None]:
        """Newest first, only events older than the ``before`` event id, of that ``action`` (or action prefix
        ending in ``.``) and within ``node_ids`` when given; with the event id to continue from, or None at the end.
        ``subject``: only events by or about that user or client; ``since``: only events with ids from there on."""

    def list_for_user(self, tenant_id: TenantId, user_id: str, *, since_event_id: str, limit: int) -> list[AuditEvent]:
        """Events about one end user newer than ``since_event_id``, newest first."""

    def pseudonymize_user(self, tenant_id: TenantId, user_id: str, pseudonym: str) -> int:
        """Replace the user's id by the pseudonym in every event about or by the user and drop network and
        personal details; returns the number of events rewritten."""


class KeyEncryption(Protocol):
    """Envelope encryption under the service KMS key; the context binds a ciphertext to its owner."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes: ...

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes: ...


class EmailSender(Protocol):
    def send(self, *, to: str, subject: str, text: str, html: str | None = None, from_name: str | None = None) -> None:
        """Raises DependencyUnavailable if the message could not be handed to the mail service."""


class VerificationRepository(Protocol):
    """Privileged (it writes password hashes): pending accounts, their email links, activation, email moves."""

    def create_pending_account(
        self, user: User, password_hash: str | None, verification: Verification, event: AuditEvent | None = None
    ) -> None:
        """User, email guard (login item), verification and, when given, the audit event in one transaction;
        AlreadyExists if the email is taken."""

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
        event: AuditEvent | None = None,
    ) -> Verification:
        """Use the link once: unexpired, of this kind, with this digest. ``set_password`` = (email, hash) sets the
        account's password in the same transaction, with ``event`` (only written together with a password).
        Raises CodeInvalid."""

    def mark_sent(self, tenant_id: TenantId, verification_id: str, *, now: int) -> None:
        """Record that the current link's email went out (registration waits for this)."""

    def activate(self, tenant_id: TenantId, user_id: UserId, *, now: int) -> bool:
        """pending -> active with the email verified; False if the user was not pending (idempotent)."""

    def change_email(
        self,
        tenant_id: TenantId,
        verification_id: str,
        *,
        link_digest: str,
        now: int,
        event: AuditEvent | None = None,
    ) -> tuple[str, str]:
        """Use an email-change link and move the email guard (with the password) to the new address and the
        user to it (and write ``event``), all in one transaction; returns (old, new). CodeInvalid for a bad link,
        AlreadyExists if the new address was taken meanwhile."""


class WorkflowEngine(Protocol):
    def start(self, workflow: str, *, name: str, payload: dict[str, Any]) -> None:
        """Start an execution of the named workflow; the same name and payload again is a no-op. Raises
        DependencyUnavailable."""

    def complete_task(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume a task waiting for its token; False if it no longer waits. Raises DependencyUnavailable."""


class HumanVerifier(Protocol):
    def verify(self, token: str, *, remote_ip: str) -> bool:
        """True if the CAPTCHA token proves a human; raises DependencyUnavailable if the provider is unreachable."""


class IdentityProviderRepository(Protocol):
    """Identity-provider integrations of a tenant (a handful per tenant, in one partition)."""

    def list(self, tenant_id: TenantId) -> list[IdentityProvider]: ...

    def get(self, tenant_id: TenantId, name: str) -> IdentityProvider | None: ...

    def create(self, integration: IdentityProvider) -> None:
        """Raises AlreadyExists if the name is taken in this tenant."""

    def replace(self, integration: IdentityProvider) -> None:
        """Raises NotFound if it does not exist."""

    def delete(self, tenant_id: TenantId, name: str) -> bool:
        """False if there was no such integration."""


class AccountDataRepository(Protocol):
    """Privileged (it erases accounts): the self-service account's own data: profile edits, consent receipts,
    data exports and the scheduled deletion."""

    def update_profile(self, tenant_id: TenantId, user_id: UserId, profile: dict[str, Any], *, now: int) -> None:
        """Replace the profile of an existing user; NotFound otherwise."""

    def schedule_deletion(self, tenant_id: TenantId, user_id: UserId, *, at: int) -> None:
        """Mark an active user for deletion; NotFound if the user is gone or not active."""

    def cancel_deletion(self, tenant_id: TenantId, user_id: UserId) -> bool:
        """Clear the mark; False if none was set."""

    def save_phone_change(
        self, tenant_id: TenantId, user_id: UserId, *, phone_number: str, code_digest: str, expires_at: int, now: int
    ) -> None:
        """Replace the pending phone change (a new code invalidates the previous one)."""

    def get_phone_change(self, tenant_id: TenantId, user_id: UserId) -> dict[str, Any] | None:
        """The pending change: ``phone_number``, ``code_digest``, ``expires_at``, ``sent_at``, ``attempts``."""

    def count_phone_attempt(self, tenant_id: TenantId, user_id: UserId, *, max_attempts: int) -> bool:
        """Count one verification attempt; False when the change is gone or out of attempts."""

    def apply_phone_change(self, tenant_id: TenantId, user_id: UserId, *, phone_number: str, now: int) -> None:
        """Set the verified number on the user and drop the pending change, in one transaction; CodeInvalid if
        the change is gone."""

    def unlink_identity(self, tenant_id: TenantId, user_id: UserId, integration: str, subject: str) -> bool:
        """Delete the user's link to an upstream identity; False if it is not (or no longer) the user's."""

    def forget_devices(self, tenant_id: TenantId, user_id: UserId, *, now: int) -> None:
        """Remembered-device cookies issued before ``now`` stop skipping MFA; NotFound if the user is gone."""

    def add_receipt(self, receipt: ConsentReceipt) -> None: ...

    def list_receipts(self, tenant_id: TenantId, user_id: UserId) -> list[ConsentReceipt]:
        """Oldest first."""

    def create_export(self, export: DataExport) -> None: ...

    def get_export(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> DataExport | None: ...

    def list_exports(self, tenant_id: TenantId, user_id: UserId) -> list[DataExport]: ...

    def store_export_file(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        export_id: str,
        *,
        parts: Sequence[bytes],
        size: int,
        expires_at: int,
    ) -> None:
        """Write the (encrypted) file chunks and mark the export ready."""

    def set_export_link(
        self, tenant_id: TenantId, user_id: UserId, export_id: str, *, link_digest: str, expires_at: int
    ) -> None:
        """Replace the download link of a ready, not yet downloaded export; CodeInvalid otherwise."""

    def mark_export_failed(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> None: ...

    def consume_export(
        self, tenant_id: TenantId, user_id: UserId, export_id: str, *, link_digest: str, now: int
    ) -> tuple[DataExport, list[bytes]]:
        """Use the download link once (ready, unexpired, this digest) and return the file chunks; CodeInvalid
        otherwise."""

    def erase_user(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        *,
        verification_ids: Sequence[str] = (),
        throttle_subjects: Sequence[str] = (),
    ) -> dict[str, int]:
        """Delete every item holding the user's personal data: the user's partition (profile, consents,
        receipts, exports and anything else kept there), the email guard with the password, sessions, grants,
        authorization codes, verification links and the sign-in throttle of the address. Counts per kind."""


class MfaRepository(Protocol):
    """Privileged (it holds encrypted second-factor secrets): MFA enrollments and challenges. Enrollment changes
    keep the user's factor summary (``User.mfa_factors``) in step within the same transaction."""

    def list_enrollments(self, tenant_id: TenantId, user_id: UserId) -> list[MfaEnrollment]: ...

    def add_enrollment(self, enrollment: MfaEnrollment) -> None:
        """Store a pending enrollment (active ones are created by ``complete_challenge`` or ``replace_recovery``)."""

    def rename_enrollment(self, tenant_id: TenantId, user_id: UserId, enrollment_id: str, label: str) -> None:
        """Raises NotFound."""

    def remove_enrollment(self, tenant_id: TenantId, user_id: UserId, enrollment: MfaEnrollment) -> None:
        """Delete it and drop it from the user's summary; raises NotFound."""

    def replace_recovery(self, enrollment: MfaEnrollment) -> None:
        """Store fresh recovery codes (active; one set per user, so they replace the previous ones)."""

    def create_challenge(self, challenge: MfaChallenge) -> None: ...

    def get_challenge_with_throttle(
        self, tenant_id: TenantId, challenge_id: str, throttle_subject: str
    ) -> tuple[MfaChallenge | None, dict[str, int]]:
        """The challenge and the named throttle counter, in one round trip."""

    def record_wrong_answer(self, tenant_id: TenantId, challenge_id: str, *, max_attempts: int) -> int:
        """Count a wrong answer; returns the attempts so far (``max_attempts`` means locked)."""

    def set_code(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        *,
        code_digest: str,
        enrollment_id: str,
        code_expires_at: int,
        now: int,
        cooldown: int,
        max_sends: int,
    ) -> None:
        """Replace the challenge's delivered code. Raises RateLimited inside the cooldown or past ``max_sends``,
        CodeInvalid if the challenge is used or locked."""

    def complete_challenge(
        self, tenant_id: TenantId, user_id: UserId, challenge_id: str, use: FactorUse, *, now: int, max_attempts: int
    ) -> None:
        """Consume the challenge and apply ``use`` in one transaction. Raises CodeInvalid if the challenge is
        used, locked or expired, the TOTP step is not newer than the last one used, or the recovery code is gone."""


class SmsSender(Protocol):
    def send(self, *, to: str, text: str) -> None:
        """Send a text message to an E.164 number; raises DependencyUnavailable."""


class SamlRepository(Protocol):
    """SAML SP state: per-integration SP keys, issued AuthnRequests (single use) and seen assertion IDs."""

    def get_sp_key(self, tenant_id: TenantId, integration: str) -> SamlSpKey | None: ...

    def add_sp_key(self, key: SamlSpKey) -> None:
        """Raises AlreadyExists if the integration already has a key (a concurrent first use)."""

    def save_request(self, request: SamlRequest) -> None: ...

    def consume_request(self, tenant_id: TenantId, integration: str, request_id: str, *, now: int) -> SamlRequest:
        """Mark the request answered (one conditional write); raises CodeInvalid if unknown, expired or answered."""

    def remember_assertion(self, tenant_id: TenantId, issuer: str, assertion_id: str, *, expires_at: int) -> None:
        """Record an accepted assertion ID (conditional put); raises CodeInvalid if it was seen before."""


class FederatedLoginRepository(Protocol):
    """Pending federated sign-ins (short-lived); every status change is a conditional write."""

    def create(self, login: FederatedLogin) -> None: ...

    def get(self, tenant_id: TenantId, login_id: str) -> FederatedLogin | None: ...

    def transition(
        self,
        tenant_id: TenantId,
        login_id: str,
        *,
        expected: tuple[str, ...],
        status: str,
        now: int,
        changes: dict[str, Any] | None = None,
    ) -> FederatedLogin:
        """Move the login from one of the ``expected`` statuses to ``status`` (setting ``changes``: upstream,
        user_id, error, linked_by) only while unexpired; raises CodeInvalid otherwise."""


class FederatedIdentityRepository(Protocol):
    """Links between accounts and upstream identities: one per (integration, upstream subject)."""

    def get(self, tenant_id: TenantId, integration: str, subject: str) -> FederatedIdentity | None: ...

    def save(self, identity: FederatedIdentity, *, create: bool) -> None:
        """``create``: only if the link does not exist yet (AlreadyExists otherwise); else replace it."""

    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[FederatedIdentity]: ...


class HttpClient(Protocol):
    """Outbound HTTPS to third parties (upstream OpenID providers, webhooks): timeouts, no redirects followed."""

    def get_json(self, url: str, *, bearer: str | None = None) -> dict[str, Any]:
        """GET a JSON object (with a bearer token when given); raises DependencyUnavailable on network errors,
        non-2xx or non-JSON answers."""

    def post_form(self, url: str, form: dict[str, str], *, basic_auth: tuple[str, str] | None = None) -> dict[str, Any]:
        """POST a form and return the JSON object answered (also for 4xx: OAuth errors are JSON); raises
        DependencyUnavailable on network errors, 5xx or non-JSON answers."""

    def post_json(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST a JSON body; the status code. Raises DependencyUnavailable on network errors."""


class WebhookRepository(Protocol):
    def get(self, tenant_id: TenantId) -> Webhook | None: ...

    def put(self, webhook: Webhook) -> None: ...

    def delete(self, tenant_id: TenantId) -> bool: ...


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


class RiskRepository(Protocol):
    """The risk engine's state: per-user sign-in history, credential-stuffing counters, fraud blocks."""

    def get_profile(self, tenant_id: TenantId, user_id: UserId) -> RiskProfile:
        """The user's history (an empty one if the user never signed in)."""

    def save_profile(self, tenant_id: TenantId, user_id: UserId, profile: RiskProfile, *, expires_at: int) -> None: ...

    def delete_profile(self, tenant_id: TenantId, user_id: UserId) -> None: ...

    def count_stuffing(
        self, tenant_id: TenantId, *, ip: str, account: str, window: int, expires_at: int
    ) -> tuple[int, int]:
        """Record a failed (IP, account digest) pair in the window; (accounts from the IP, IPs on the account) in
        this window and the one before it (a burst that straddles a window boundary is counted whole)."""

    def block(self, tenant_id: TenantId, subject: str, *, now: int, base: int, most: int) -> int | None:
        """Block a throttle subject (``IP#..``/``EMAIL#..``) with a doubling duration unless already blocked;
        the new ``blocked_until``, or None when it was blocked already."""

    def set_block(self, tenant_id: TenantId, subject: str, *, until: int, expires_at: int) -> None:
        """Block (or, with ``until`` 0, unblock) a throttle subject outright: admin lock and unlock."""


class AlertPublisher(Protocol):
    def publish(self, tenant_id: TenantId, kind: str, payload: dict[str, Any]) -> None:
        """Publish a security alert for the tenant to consume; raises DependencyUnavailable."""


class AnonymousRepository(Protocol):
    """Anonymous identities (kept out of the tenant's user lists, removed by TTL unless upgraded)."""

    def create_anonymous(self, user: User, grant: Grant, *, expires_at: int, events: Sequence[AuditEvent] = ()) -> None:
        """The identity, its grant and ``events`` (the token issue's audit events) in one transaction."""

    def upgrade(self, user: User, password_hash: str, verification: Verification) -> None:
        """Turn the still-anonymous identity into ``user`` (pending, with its email) with its email guard and
        verification, in one transaction. AlreadyExists if the email is taken, NotFound if the identity is gone
        or no longer anonymous."""


class AnalyticsRepository(Protocol):
    """Daily counters per tenant, scope (``ALL``, ``NODE#<id>``, ``CLIENT#<id>``) and metric."""

    def add(self, tenant_id: TenantId, day: str, increments: Sequence[tuple[str, str]]) -> None:
        """Add 1 to each (scope, metric) counter of the day (atomic ADD)."""

    def mark_active(self, tenant_id: TenantId, day: str, scopes: Sequence[str], user_id: str) -> bool:
        """Count the user as active that day in each scope, once (conditional marker); True the first time."""

    def day(self, tenant_id: TenantId, day: str, scope: str) -> dict[str, int]:
        """Every counter of one day and scope (``active_users`` among them), by metric."""


class AuditEventChannel(Protocol):
    """The durable asynchronous path of high-volume audit events (token issue): published on the request path
    without a DynamoDB request, stored in the audit table by the ingest function."""

    def publish(self, event: AuditEvent) -> None: ...
