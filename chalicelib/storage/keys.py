"""Key builders for the main table. Every key embeds the tenant; none can be built without one.

This module is the only place that knows key prefixes.
"""

from __future__ import annotations

from chalicelib.core.ids import TenantId

# The one key without a tenant: the operator's list of customer tenants (roots only, no tenant data).
CUSTOMERS_INDEX = "CUSTOMERS"


def _t(tenant_id: TenantId) -> str:
    if not tenant_id or "#" in tenant_id:
        raise ValueError("a valid tenant id is required to build a key")
    return f"T#{tenant_id}"


def _part(value: str) -> str:
    if not value:
        raise ValueError("key parts must not be empty")
    return value


def tenant_nodes(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#NODES"


def node_slug_guard(tenant_id: TenantId, parent_id: str, slug: str) -> str:
    return f"{_t(tenant_id)}#NODESLUG#{_part(parent_id)}#{_part(slug)}"


def client(tenant_id: TenantId, client_id: str) -> str:
    return f"{_t(tenant_id)}#CLIENT#{_part(client_id)}"


def clients_index(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#CLIENTS"


def user(tenant_id: TenantId, user_id: str) -> str:
    return f"{_t(tenant_id)}#USER#{_part(user_id)}"


def users_index(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#USERS"


def group(tenant_id: TenantId, group_id: str) -> str:
    return f"{_t(tenant_id)}#GROUP#{_part(group_id)}"


def groups_index(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#GROUPS"


def email_login(tenant_id: TenantId, normalized_email: str) -> str:
    return f"{_t(tenant_id)}#EMAIL#{_part(normalized_email)}"


def signing_keys(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#KEYS"


def authorization_code(tenant_id: TenantId, code_digest: str) -> str:
    return f"{_t(tenant_id)}#CODE#{_part(code_digest)}"


def grant(tenant_id: TenantId, grant_id: str) -> str:
    return f"{_t(tenant_id)}#GRANT#{_part(grant_id)}"


def user_grants_index(tenant_id: TenantId, user_id: str) -> str:
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#GRANTS"


def session(tenant_id: TenantId, session_id: str) -> str:
    return f"{_t(tenant_id)}#SESSION#{_part(session_id)}"


def user_sessions_index(tenant_id: TenantId, user_id: str) -> str:
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#SESSIONS"


def consent_sk(client_id: str) -> str:
    return f"CONSENT#{_part(client_id)}"


def throttle(tenant_id: TenantId, subject: str) -> str:
    return f"{_t(tenant_id)}#THROTTLE#{_part(subject)}"


def revoked_token(tenant_id: TenantId, jti: str) -> str:
    return f"{_t(tenant_id)}#REVOKED#{_part(jti)}"


def client_assertion_jti(tenant_id: TenantId, client_id: str, jti: str) -> str:
    return f"{_t(tenant_id)}#ASSERTION#{_part(client_id)}#{_part(jti)}"


def verification(tenant_id: TenantId, verification_id: str) -> str:
    return f"{_t(tenant_id)}#VERIFY#{_part(verification_id)}"


def audit_events(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#AUDIT"


def role(tenant_id: TenantId, name: str) -> str:
    return f"{_t(tenant_id)}#ROLE#{_part(name)}"


def roles_index(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#ROLES"


def role_assignment_sk(role_name: str, node_id: str) -> str:
    """Sort key of an assignment under the user's partition (``user(...)``): the user's roles are one query."""
    return f"ROLE#{_part(role_name)}#{_part(node_id)}"


ROLE_ASSIGNMENT_PREFIX = "ROLE#"


def role_holders_index(tenant_id: TenantId, role_name: str) -> str:
    return f"{_t(tenant_id)}#ROLEHOLDERS#{_part(role_name)}"


def identity_providers(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#IDPS"


def identity_provider_sk(name: str) -> str:
    return f"IDP#{_part(name)}"


def risk_profile_sk() -> str:
    """The user's sign-in history lives in the user's partition (``keys.user``) under this sort key."""
    return "RISK"


def stuffing_window(tenant_id: TenantId, kind: str, subject: str, window: int) -> str:
    """Credential-stuffing counter: the distinct accounts failing from one IP (``IP``) or the distinct IPs failing
    on one account (``ACCOUNT``) within one time window."""
    return f"{_t(tenant_id)}#STUFFING#{_part(kind)}#{_part(subject)}#{window}"


# --- self-service account (issue 8) ---------------------------------------------------------------------------


def user_codes_index(tenant_id: TenantId, user_id: str) -> str:
    """GSI1 partition of a user's authorization codes (they hold a claims snapshot: erasure must find them)."""
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#CODES"


def user_mfa_challenges_index(tenant_id: TenantId, user_id: str) -> str:
    """GSI1 partition of a user's MFA challenges (erasure must find them)."""
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#MFACHALLENGES"


def user_federated_logins_index(tenant_id: TenantId, user_id: str) -> str:
    """GSI1 partition of a user's federated sign-ins in progress (they carry upstream claims)."""
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#FEDLOGINS"


def audit_user_index(tenant_id: TenantId, user_id: str) -> str:
    """Audit table index partition of the events about one end user (sign-ins, self-service changes)."""
    return f"{_t(tenant_id)}#AUDIT#USER#{_part(user_id)}"


def audit_kind_index(tenant_id: TenantId, action: str) -> str:
    """Audit table index partition of the events of one kind: the action's first segment (``signin`` of
    ``signin.failure``)."""
    return f"{_t(tenant_id)}#AUDIT#KIND#{_part(audit_kind(action))}"


def audit_kind(action: str) -> str:
    return action.split(".", 1)[0]


def consent_receipt_sk(created_at: int, receipt_id: str) -> str:
    return f"RECEIPT#{created_at:012d}#{_part(receipt_id)}"


def data_export_sk(export_id: str) -> str:
    return f"EXPORT#{_part(export_id)}"


def data_export_part_sk(export_id: str, part: int) -> str:
    return f"EXPORT#{_part(export_id)}#PART#{part:04d}"


def mfa_enrollment_sk(enrollment_id: str) -> str:
    """Sort key of an MFA enrollment, stored under its user's partition (``user(...)``)."""
    return f"MFA#{_part(enrollment_id)}"


MFA_ENROLLMENT_PREFIX = "MFA#"


def mfa_challenge(tenant_id: TenantId, challenge_id: str) -> str:
    return f"{_t(tenant_id)}#MFACHALLENGE#{_part(challenge_id)}"


# --- SAML 2.0 service provider -----------------------------------------------------------------------------------


def saml_sp_key(tenant_id: TenantId, integration: str) -> str:
    return f"{_t(tenant_id)}#SAMLSP#{_part(integration)}"


def saml_request(tenant_id: TenantId, integration: str, request_id: str) -> str:
    return f"{_t(tenant_id)}#SAMLREQ#{_part(integration)}#{_part(request_id)}"


def saml_assertion(tenant_id: TenantId, issuer_digest: str, assertion_id: str) -> str:
    return f"{_t(tenant_id)}#SAMLASSERTION#{_part(issuer_digest)}#{_part(assertion_id)}"


def federated_login(tenant_id: TenantId, login_id: str) -> str:
    return f"{_t(tenant_id)}#FEDLOGIN#{_part(login_id)}"


def federated_identity(tenant_id: TenantId, integration: str, subject_digest: str) -> str:
    return f"{_t(tenant_id)}#FEDID#{_part(integration)}#{_part(subject_digest)}"


def user_federated_identities_index(tenant_id: TenantId, user_id: str) -> str:
    return f"{_t(tenant_id)}#USER#{_part(user_id)}#FEDIDS"


def webhook(tenant_id: TenantId) -> str:
    return f"{_t(tenant_id)}#WEBHOOK"


def analytics_day(tenant_id: TenantId, day: str) -> str:
    """Daily identity analytics counters of a tenant (one small partition per day)."""
    return f"{_t(tenant_id)}#STATS#{_part(day)}"
