"""PynamoDB models: one main table of discriminated item types, and a separate audit table.

The same models create the local tables (``schema.create_tables``) and describe the tables to the CDK stack
(``schema.table_definitions``), so the key schema is defined exactly once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.storage.connection import share_botocore_session

if TYPE_CHECKING:
    from pynamodb.connection import TableConnection

share_botocore_session()  # one botocore session for every table and transaction (cold start)


class Gsi1(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class MainItem(Model):
    class Meta:
        table_name = settings().main_table
        region = settings().region
        billing_mode = "PAY_PER_REQUEST"
        max_retry_attempts = 2
        connect_timeout_seconds = 2
        read_timeout_seconds = 5

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    item_type = DiscriminatorAttribute(attr_name="type")
    gsi1pk = UnicodeAttribute(null=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(null=True, attr_name="GSI1SK")
    ttl = TTLAttribute(null=True, attr_name="ttl")
    gsi1 = Gsi1()

    @classmethod
    def _get_connection(cls) -> TableConnection:
        """The table's one connection (one botocore client) for every item type: PynamoDB would otherwise create
        one per subclass, each building its own client on first use."""
        return super()._get_connection() if cls is MainItem else MainItem._get_connection()


class TierNodeItem(MainItem, discriminator="node"):
    tenant_id = UnicodeAttribute()
    node_id = UnicodeAttribute()
    tier = UnicodeAttribute()
    slug = UnicodeAttribute()
    name = UnicodeAttribute()
    parent_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    settings = JSONAttribute(default=dict)


class GuardItem(MainItem, discriminator="guard"):
    """Uniqueness guard: written with attribute_not_exists in the same transaction as what it protects."""

    owner = UnicodeAttribute()


class ClientItem(MainItem, discriminator="client"):
    tenant_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    name = UnicodeAttribute()
    client_type = UnicodeAttribute()
    auth_method = UnicodeAttribute()
    secret_digest = UnicodeAttribute(null=True)
    redirect_uris = JSONAttribute(default=list)
    post_logout_redirect_uris = JSONAttribute(default=list)
    scopes = JSONAttribute(default=list)
    grant_types = JSONAttribute(default=list)
    tier_node_id = UnicodeAttribute()
    first_party = BooleanAttribute(default=False)
    jwks = JSONAttribute(null=True)
    id_token_alg = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="active")
    created_at = NumberAttribute(default=0)
    required_attributes = JSONAttribute(null=True)


class UserItem(MainItem, discriminator="user"):
    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    email_verified = BooleanAttribute(default=False)
    status = UnicodeAttribute()
    profile = JSONAttribute(default=dict)
    tier_node_id = UnicodeAttribute()
    phone_number = UnicodeAttribute(null=True)
    phone_number_verified = BooleanAttribute(default=False)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    external_id = UnicodeAttribute(null=True)
    deletion_scheduled_at = NumberAttribute(default=0)
    devices_forgotten_at = NumberAttribute(default=0)
    mfa_factors = UnicodeSetAttribute(null=True)  # "<kind>:<enrollment id>" of the active MFA enrollments

    enterprise = JSONAttribute(null=True)
    anonymous = BooleanAttribute(null=True)


class GroupItem(MainItem, discriminator="group"):
    """A provisioned group; ``members`` holds user ids (bounded by MAX_GROUP_MEMBERS in the service)."""

    tenant_id = UnicodeAttribute()
    group_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    external_id = UnicodeAttribute(null=True)
    members = JSONAttribute(default=list)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class EmailLoginItem(MainItem, discriminator="email_login"):
    """Privileged: the email uniqueness guard that also holds the password hash and lockout state."""

    tenant_id = UnicodeAttribute()
    email = UnicodeAttribute()
    user_id = UnicodeAttribute()
    password_hash = UnicodeAttribute(null=True)
    failed_attempts = NumberAttribute(default=0)
    locked_until = NumberAttribute(default=0)
    lock_count = NumberAttribute(default=0)


class SigningKeyItem(MainItem, discriminator="signing_key"):
    tenant_id = UnicodeAttribute()
    kid = UnicodeAttribute()
    alg = UnicodeAttribute()
    status = UnicodeAttribute()
    public_jwk = JSONAttribute()
    encrypted_private_key = BinaryAttribute(legacy_encoding=False)
    created_at = NumberAttribute()
    retired_at = NumberAttribute(default=0)
    publish_until = NumberAttribute(default=0)


class AuthorizationCodeItem(MainItem, discriminator="authorization_code"):
    tenant_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    redirect_uri = UnicodeAttribute()
    scope = JSONAttribute()
    nonce = UnicodeAttribute(null=True)
    code_challenge = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute()
    auth_time = NumberAttribute()
    acr = UnicodeAttribute()
    amr = JSONAttribute()
    claims = JSONAttribute()
    expires_at = NumberAttribute()
    grant_id = UnicodeAttribute()
    consumed_at = NumberAttribute(default=0)


class GrantItem(MainItem, discriminator="grant"):
    tenant_id = UnicodeAttribute()
    grant_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    scope = JSONAttribute()
    session_id = UnicodeAttribute()
    auth_time = NumberAttribute()
    acr = UnicodeAttribute()
    amr = JSONAttribute()
    claims = JSONAttribute()
    created_at = NumberAttribute()
    expires_at = NumberAttribute()
    current_digest = UnicodeAttribute(null=True)
    previous_digest = UnicodeAttribute(null=True)
    rotated_at = NumberAttribute(default=0)
    revoked_at = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)
    # Digests of the last ROTATION_HISTORY rotated refresh tokens, slot = generation % ROTATION_HISTORY: a
    # rotated token that comes back is recognised as reuse (and revokes the grant) without an unbounded list.
    h0 = UnicodeAttribute(null=True)
    h1 = UnicodeAttribute(null=True)
    h2 = UnicodeAttribute(null=True)
    h3 = UnicodeAttribute(null=True)
    h4 = UnicodeAttribute(null=True)
    h5 = UnicodeAttribute(null=True)
    h6 = UnicodeAttribute(null=True)
    h7 = UnicodeAttribute(null=True)


ROTATION_HISTORY = 8


class SessionItem(MainItem, discriminator="session"):
    tenant_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    secret_digest = UnicodeAttribute()
    user_id = UnicodeAttribute()
    auth_time = NumberAttribute()
    amr = JSONAttribute()
    acr = UnicodeAttribute()
    expires_at = NumberAttribute()
    ip = UnicodeAttribute(default="")
    user_agent = UnicodeAttribute(default="")
    revoked_at = NumberAttribute(default=0)
    location = UnicodeAttribute(default="")


class ConsentItem(MainItem, discriminator="consent"):
    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    scopes = UnicodeSetAttribute()
    granted_at = NumberAttribute()


class ThrottleItem(MainItem, discriminator="throttle"):
    """Failure counter for a subject (a source IP) inside a fixed window."""

    failures = NumberAttribute(default=0)
    window_start = NumberAttribute(default=0)
    blocked_until = NumberAttribute(default=0)
    block_count = NumberAttribute(default=0)


class RevokedTokenItem(MainItem, discriminator="revoked_token"):
    """An access token revoked before its expiry (RFC 7009); kept until the token would have expired."""

    expires_at = NumberAttribute()


class UsedAssertionItem(MainItem, discriminator="used_assertion"):
    """A private_key_jwt client assertion ``jti`` already seen (RFC 7523 §3 replay protection)."""

    expires_at = NumberAttribute()


class VerificationItem(MainItem, discriminator="verification"):
    """An email link (registration, invitation, password reset, email change): only the link's digest is kept."""

    tenant_id = UnicodeAttribute()
    verification_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = NumberAttribute()
    created_at = NumberAttribute()
    link_digest = UnicodeAttribute(null=True)
    consumed_at = NumberAttribute(default=0)
    task_token = UnicodeAttribute(null=True)
    sent_at = NumberAttribute(default=0)
    send_count = NumberAttribute(default=0)
    new_email = UnicodeAttribute(null=True)
    resume = JSONAttribute(null=True)


class IdentityProviderItem(MainItem, discriminator="identity_provider"):
    """An identity-provider integration; all of a tenant's live in one partition (PK ``T#<t>#IDPS``)."""

    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    node_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    domains = JSONAttribute(default=list)
    attribute_mapping = JSONAttribute(default=dict)
    role_mapping = JSONAttribute(default=dict)
    linking = UnicodeAttribute()
    saml_metadata = UnicodeAttribute(null=True)
    saml_idp_entity_id = UnicodeAttribute(null=True)
    saml_allow_unsolicited = BooleanAttribute(default=False)
    oidc_issuer = UnicodeAttribute(null=True)
    oidc_client_id = UnicodeAttribute(null=True)
    oidc_client_secret = BinaryAttribute(null=True, legacy_encoding=False)  # KMS envelope, never plaintext
    oidc_scopes = JSONAttribute(null=True)
    oidc_preset = UnicodeAttribute(null=True)
    created_at = NumberAttribute(default=0)
    updated_at = NumberAttribute(default=0)


class ConsentReceiptItem(MainItem, discriminator="consent_receipt"):
    """A Kantara consent receipt, in the user's partition (``SK = RECEIPT#<time>#<id>``)."""

    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    receipt_id = UnicodeAttribute()
    client_id = UnicodeAttribute()
    action = UnicodeAttribute()
    created_at = NumberAttribute()
    document = JSONAttribute()


class DataExportItem(MainItem, discriminator="data_export"):
    """A personal data export request, in the user's partition; the file is in DataExportPartItems."""

    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    export_id = UnicodeAttribute()
    status = UnicodeAttribute()
    requested_at = NumberAttribute()
    expires_at = NumberAttribute()
    link_digest = UnicodeAttribute(null=True)
    downloaded_at = NumberAttribute(default=0)
    size = NumberAttribute(default=0)
    parts = NumberAttribute(default=0)


class PhoneChangeItem(MainItem, discriminator="phone_change"):
    """A pending phone number change in the user's partition (``SK = PHONE_CHANGE``): the SMS code's digest."""

    phone_number = UnicodeAttribute()
    code_digest = UnicodeAttribute()
    expires_at = NumberAttribute()
    sent_at = NumberAttribute()
    attempts = NumberAttribute(default=0)


class DataExportPartItem(MainItem, discriminator="data_export_part"):
    """One chunk of an export file: gzip-compressed JSON, envelope-encrypted under the service KMS key."""

    payload = BinaryAttribute(legacy_encoding=False)


class AuditUserIndex(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]
    """Events about one end user, time-ordered: ``GSI1PK = T#<tenant>#AUDIT#USER#<user>``, ``GSI1SK`` = event id."""

    class Meta:
        index_name = "UserIndex"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class AuditKindIndex(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]
    """Events of one kind (the type's first segment: ``signin``, ``token``, ``mfa`` ...), time-ordered:
    ``GSI2PK = T#<tenant>#AUDIT#KIND#<kind>``, ``GSI2SK`` = event id. Listing by type reads only that kind, so
    high-volume kinds (token issue) never bury the others."""

    class Meta:
        index_name = "KindIndex"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class MfaEnrollmentItem(MainItem, discriminator="mfa_enrollment"):
    """A second factor of a user, under the user's partition (SK ``MFA#<id>``); secrets envelope-encrypted."""

    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    enrollment_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    created_at = NumberAttribute()
    confirmed_at = NumberAttribute(default=0)
    last_used_at = NumberAttribute(default=0)
    encrypted_secret = BinaryAttribute(null=True, legacy_encoding=False)
    target = UnicodeAttribute(null=True)
    last_step = NumberAttribute(default=0)
    code_digests = UnicodeSetAttribute(null=True)
    public_key = BinaryAttribute(null=True, legacy_encoding=False)
    sign_count = NumberAttribute(default=0)


class MfaChallengeItem(MainItem, discriminator="mfa_challenge"):
    """A single-use second-factor challenge (sign-in or enrollment confirmation), expiring by TTL and in code."""

    tenant_id = UnicodeAttribute()
    challenge_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    created_at = NumberAttribute()
    expires_at = NumberAttribute()
    attempts = NumberAttribute(default=0)
    consumed_at = NumberAttribute(default=0)
    enrollment_id = UnicodeAttribute(null=True)
    code_digest = UnicodeAttribute(null=True)
    code_enrollment_id = UnicodeAttribute(null=True)
    code_expires_at = NumberAttribute(default=0)
    code_sent_at = NumberAttribute(default=0)
    send_count = NumberAttribute(default=0)


class SamlSpKeyItem(MainItem, discriminator="saml_sp_key"):
    """An integration's SAML SP key pair: certificate in clear, private key envelope-encrypted by the service."""

    tenant_id = UnicodeAttribute()
    integration = UnicodeAttribute()
    certificate_pem = UnicodeAttribute()
    encrypted_private_key = BinaryAttribute(legacy_encoding=False)
    created_at = NumberAttribute()


class SamlRequestItem(MainItem, discriminator="saml_request"):
    """An AuthnRequest we issued, answerable once (``consumed_at``) before ``expires_at``."""

    tenant_id = UnicodeAttribute()
    integration = UnicodeAttribute()
    request_id = UnicodeAttribute()
    flow = JSONAttribute()
    expires_at = NumberAttribute()
    consumed_at = NumberAttribute(default=0)


class SamlAssertionItem(MainItem, discriminator="saml_assertion"):
    """An assertion ID already accepted (replay cache), kept until the assertion could no longer be valid."""

    expires_at = NumberAttribute()


class FederatedLoginItem(MainItem, discriminator="federated_login"):
    """A federated sign-in in progress (expires with its TTL; expiry is also checked in code)."""

    tenant_id = UnicodeAttribute()
    login_id = UnicodeAttribute()
    integration = UnicodeAttribute()
    node_id = UnicodeAttribute()
    request = JSONAttribute(null=True)
    csrf_digest = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    expires_at = NumberAttribute()
    status = UnicodeAttribute()
    protocol_state = JSONAttribute(default=dict)
    upstream = JSONAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    linked_by = UnicodeAttribute(null=True)
    completed_at = NumberAttribute(default=0)
    link = JSONAttribute(null=True)  # a LinkIntent: the round trip links an identity to a signed-in user


class FederatedIdentityItem(MainItem, discriminator="federated_identity"):
    """The link of an account to its identity at one integration (PK by integration and subject digest)."""

    tenant_id = UnicodeAttribute()
    integration = UnicodeAttribute()
    subject = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created_at = NumberAttribute()
    last_login_at = NumberAttribute()
    roles = JSONAttribute(default=list)
    groups = JSONAttribute(default=list)
    owns_email = BooleanAttribute(null=True)


class WebhookItem(MainItem, discriminator="webhook"):
    """A tenant's provisioning webhook; the HMAC secret is a KMS envelope, never plaintext."""

    tenant_id = UnicodeAttribute()
    url = UnicodeAttribute()
    secret_blob = BinaryAttribute(legacy_encoding=False)
    created_at = NumberAttribute()


class AuditItem(Model):
    class Meta:
        table_name = settings().audit_table
        region = settings().region
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    event_type = UnicodeAttribute()
    outcome = UnicodeAttribute()
    occurred_at = NumberAttribute()
    details = JSONAttribute(default=dict)
    ttl = TTLAttribute(null=True, attr_name="ttl")
    actor = UnicodeAttribute(null=True)
    target_id = UnicodeAttribute(null=True)
    node_id = UnicodeAttribute(null=True)
    source_ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(null=True, attr_name="GSI1SK")
    user_index = AuditUserIndex()
    gsi2pk = UnicodeAttribute(null=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(null=True, attr_name="GSI2SK")
    kind_index = AuditKindIndex()


MAIN_MODELS: tuple[type[MainItem], ...] = (MainItem,)
ALL_TABLE_MODELS: tuple[type[Model], ...] = (MainItem, AuditItem)


class RoleItem(MainItem, discriminator="role"):
    """A custom role of a tenant (built-in admin roles are not stored)."""

    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    node_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    holders = NumberAttribute(default=0)  # assignments of the role: it can be deleted only at zero


class RoleAssignmentItem(MainItem, discriminator="role_assignment"):
    """A user holds a role at a tier node; stored under the user's partition, indexed by role (GSI1)."""

    tenant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    node_id = UnicodeAttribute()
    assigned_at = NumberAttribute()
    assigned_by = UnicodeAttribute(default="")


class RiskProfileItem(MainItem, discriminator="risk_profile"):
    """A user's sign-in history for the risk engine (``core.risk.RiskProfile``), next to the user's profile."""

    devices = JSONAttribute(default=list)
    countries = JSONAttribute(default=list)
    last_location = JSONAttribute(null=True)
    last_location_at = NumberAttribute(default=0)
    hours = JSONAttribute(default=list)
    sign_ins = NumberAttribute(default=0)


class StuffingItem(MainItem, discriminator="stuffing"):
    """Distinct digests (accounts for an IP, IPs for an account) that failed in one window; grown with ADD."""

    members = UnicodeSetAttribute(null=True)


class CounterItem(MainItem, discriminator="counter"):
    """One analytics counter (``SK = C#<scope>#<metric>``) or active-user marker (``SK = U#<scope>#<user>``)."""

    value = NumberAttribute(default=0)
