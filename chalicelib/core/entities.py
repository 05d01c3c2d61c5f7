"""Domain entities: plain frozen dataclasses, independent of storage and protocol.

Every entity carries the tenant it belongs to; repositories refuse to build a key without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.core.ids import ClientId, NodeId, TenantId, UserId

Tier = Literal["customer", "organization", "account"]
ClientType = Literal["confidential", "public", "service"]
UserStatus = Literal["active", "pending", "disabled"]


@dataclass(frozen=True)
class TierNode:
    tenant_id: TenantId
    node_id: NodeId
    tier: Tier
    slug: str
    name: str
    parent_id: NodeId | None
    status: Literal["active", "disabled"] = "active"
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TenantTree:
    """All tier nodes of one customer tenant (a handful of items, loaded in one query)."""

    tenant_id: TenantId
    nodes: dict[NodeId, TierNode]

    @property
    def root(self) -> TierNode:
        return next(n for n in self.nodes.values() if n.parent_id is None)

    def chain(self, node_id: NodeId) -> list[TierNode]:
        """Nodes from the root down to ``node_id`` (inclusive)."""
        chain: list[TierNode] = []
        current: NodeId | None = node_id
        while current is not None:
            node = self.nodes[current]
            chain.append(node)
            current = node.parent_id
        return list(reversed(chain))

    def find_by_slug(self, slug: str) -> TierNode | None:
        return next((n for n in self.nodes.values() if n.slug == slug), None)

    def is_within(self, node_id: NodeId, ancestor_id: NodeId) -> bool:
        """True if ``node_id`` is ``ancestor_id`` or below it (the reach of an admin scoped to ``ancestor_id``)."""
        return node_id in self.nodes and any(n.node_id == ancestor_id for n in self.chain(node_id))


@dataclass(frozen=True)
class Client:
    tenant_id: TenantId
    client_id: ClientId
    name: str
    client_type: ClientType
    token_endpoint_auth_method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    secret_digest: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[str, ...]
    tier_node_id: NodeId
    first_party: bool = False
    jwks: dict[str, Any] | None = None  # public keys for private_key_jwt
    id_token_alg: str | None = None  # None: the tier's default
    status: Literal["active", "disabled"] = "active"
    created_at: int = 0


@dataclass(frozen=True)
class User:
    tenant_id: TenantId
    user_id: UserId
    email: str
    email_verified: bool
    status: UserStatus
    profile: dict[str, Any]
    tier_node_id: NodeId
    created_at: int
    updated_at: int
    phone_number: str | None = None
    phone_number_verified: bool = False
    external_id: str | None = None  # the provisioning client's identifier (SCIM ``externalId``)
    deletion_scheduled_at: int = 0  # the user asked to delete the account; erased after the grace period
    # "<kind>:<enrollment id>" of each active MFA enrollment: read with the user at sign-in, so a user without
    # MFA costs no extra request (the enrollments themselves, with their secrets, are separate items).
    mfa_factors: tuple[str, ...] = ()

    @property
    def mfa_kinds(self) -> frozenset[str]:
        return frozenset(marker.split(":", 1)[0] for marker in self.mfa_factors)


@dataclass(frozen=True)
class Group:
    """A group of users of one tenant (provisioned over SCIM)."""

    tenant_id: TenantId
    group_id: str
    display_name: str
    members: tuple[UserId, ...]
    created_at: int
    updated_at: int
    external_id: str | None = None


@dataclass(frozen=True)
class PasswordLogin:
    """The privileged login record found by email: never returned to adapters other than authentication."""

    tenant_id: TenantId
    email: str
    user_id: UserId
    password_hash: str | None
    failed_attempts: int
    locked_until: int
    lock_count: int


@dataclass(frozen=True)
class SigningKey:
    tenant_id: TenantId
    kid: str
    alg: str
    status: Literal["active", "retired"]
    public_jwk: dict[str, Any]
    encrypted_private_key: bytes
    created_at: int
    retired_at: int = 0
    publish_until: int = 0  # a retired key stays in the JWKS until tokens it signed have expired


@dataclass(frozen=True)
class AuthorizationCode:
    tenant_id: TenantId
    code_digest: str
    client_id: ClientId
    user_id: UserId
    redirect_uri: str
    scope: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None
    session_id: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    claims: dict[str, Any]  # snapshot of the user's claims at sign-in (no second read at the token endpoint)
    expires_at: int
    grant_id: str
    consumed_at: int = 0


@dataclass(frozen=True)
class Grant:
    """A grant: what one user gave one client; it owns the refresh-token family and the access tokens issued."""

    tenant_id: TenantId
    grant_id: str
    client_id: ClientId
    user_id: UserId
    scope: tuple[str, ...]
    session_id: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    claims: dict[str, Any]
    created_at: int
    expires_at: int
    current_digest: str | None = None
    previous_digest: str | None = None
    rotated_at: int = 0
    revoked_at: int = 0
    generation: int = 0


@dataclass(frozen=True)
class LoginSession:
    """The browser's single sign-on session."""

    tenant_id: TenantId
    session_id: str
    user_id: UserId
    auth_time: int
    amr: tuple[str, ...]
    acr: str
    expires_at: int
    secret_digest: str = ""
    ip: str = ""
    user_agent: str = ""
    revoked_at: int = 0
    location: str = ""  # approximate, from CloudFront viewer headers at sign-in ("" when unknown)


@dataclass(frozen=True)
class Consent:
    tenant_id: TenantId
    user_id: UserId
    client_id: ClientId
    scopes: tuple[str, ...]
    granted_at: int


VerificationKind = Literal["registration", "invitation", "password_reset", "email_change"]


@dataclass(frozen=True)
class Verification:
    """A pending email-link proof: registration, invitation, password reset or email change.

    The link is ``<verification_id>.<secret>``; only the secret's SHA-256 (``link_digest``) is stored, and a new link
    replaces it (earlier links stop working). Registration and invitation are driven by the email verification
    workflow, which keeps its task token here. ``resume`` holds the authorization request a registration started
    from, so the user returns to the application after verifying; ``new_email`` is the address an email change
    moves to.
    """

    tenant_id: TenantId
    verification_id: str
    kind: VerificationKind
    user_id: UserId
    expires_at: int
    created_at: int
    link_digest: str | None = None
    consumed_at: int = 0
    task_token: str | None = None
    sent_at: int = 0
    send_count: int = 0
    new_email: str | None = None
    resume: dict[str, Any] | None = None


AuditOutcome = Literal["success", "failure"]


@dataclass(frozen=True)
class AuditEvent:
    """One admin or provisioning write: who (``actor``, a client id or subject), what (``action`` on
    ``target_id``), where in the tenant (``node_id``), when, from where, and how it ended. Never holds secrets.

    ``event_id`` orders events in time (milliseconds first), so it doubles as the pagination position."""

    tenant_id: TenantId
    event_id: str
    action: str
    actor: str
    target_id: str
    node_id: NodeId
    occurred_at: int
    source_ip: str
    user_agent: str
    outcome: AuditOutcome
    details: dict[str, Any] = field(default_factory=dict)
    user_id: str = ""  # the end user the event is about (sign-ins, self-service): indexed per user


@dataclass(frozen=True)
class ConsentReceipt:
    """A consent receipt (Kantara Consent Receipt Specification v1.1) of one grant or revocation; ``document``
    is the receipt JSON the user downloads."""

    tenant_id: TenantId
    user_id: UserId
    receipt_id: str
    client_id: ClientId
    action: Literal["granted", "revoked"]
    created_at: int
    document: dict[str, Any]


ExportStatus = Literal["pending", "ready", "failed"]


@dataclass(frozen=True)
class DataExport:
    """A personal data export: built by the data export workflow, stored encrypted, downloaded through a link
    that only its owner can use, once, before ``expires_at``."""

    tenant_id: TenantId
    user_id: UserId
    export_id: str
    status: ExportStatus
    requested_at: int
    expires_at: int
    link_digest: str | None = None
    downloaded_at: int = 0
    size: int = 0


MfaStatus = Literal["pending", "active"]
ChallengePurpose = Literal["login", "enroll"]


@dataclass(frozen=True)
class MfaEnrollment:
    """One enrolled second factor of a user (an authenticator app, an email address, a phone, recovery codes).

    ``encrypted_secret`` (TOTP) is envelope-encrypted and bound to tenant, user and enrollment; ``target`` is the
    address a code is sent to; ``last_step`` is the last TOTP time step used (never accepted again);
    ``code_digests`` are the unused recovery codes' digests.
    """

    tenant_id: TenantId
    user_id: UserId
    enrollment_id: str
    kind: str
    label: str
    status: MfaStatus
    created_at: int
    confirmed_at: int = 0
    last_used_at: int = 0
    encrypted_secret: bytes | None = None
    target: str | None = None
    last_step: int = 0
    code_digests: tuple[str, ...] = ()
    public_key: bytes | None = None  # WebAuthn: the credential's COSE public key (``target`` is its id)
    sign_count: int = 0

    @property
    def marker(self) -> str:
        return f"{self.kind}:{self.enrollment_id}"


@dataclass(frozen=True)
class MfaChallenge:
    """A single-use second-factor step: of a sign-in (``login``) or of confirming an enrollment (``enroll``).

    Wrong answers count in ``attempts``; at the limit the challenge is locked. A code sent by email or SMS is
    kept only as ``code_digest`` (bound to ``code_enrollment_id``) with its own expiry and resend bookkeeping.
    """

    tenant_id: TenantId
    challenge_id: str
    user_id: UserId
    purpose: ChallengePurpose
    created_at: int
    expires_at: int
    attempts: int = 0
    consumed_at: int = 0
    enrollment_id: str | None = None  # the pending enrollment an ``enroll`` challenge confirms
    code_digest: str | None = None
    code_enrollment_id: str | None = None
    code_expires_at: int = 0
    code_sent_at: int = 0
    send_count: int = 0


@dataclass(frozen=True)
class FactorUse:
    """What completing a challenge changes on the factor, in the same transaction as consuming the challenge:
    the TOTP step now used (``totp_step``), the recovery code used up (``recovery_digest``), or the pending
    enrollment to activate (``activate``, with ``recovery`` codes created beside the first factor)."""

    enrollment_id: str
    kind: str
    totp_step: int | None = None
    recovery_digest: str | None = None
    activate: bool = False
    recovery: MfaEnrollment | None = None
    sign_count: int | None = None  # WebAuthn: the authenticator's new signature counter
    credential: tuple[str, bytes] | None = None  # WebAuthn registration: (credential id, COSE public key)


# The user of a passwordless (passkey) challenge: issued before anyone said who they are.
ANY_USER = UserId("*")
