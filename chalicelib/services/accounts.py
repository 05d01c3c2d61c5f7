"""User accounts: creation (with the email uniqueness guard), lookup and OpenID Connect claims."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import User, UserStatus
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, UserId, new_user_id
from chalicelib.core.ports import CredentialRepository, UserRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.passwords import hash_password

EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

PROFILE_CLAIMS = (
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
)
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (*PROFILE_CLAIMS, "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}


def check_email(email: object) -> str:
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.match(email.strip()):
        raise InvalidInput("Enter a valid email address.", fields={"email": "invalid"})
    return email.strip().lower()


def check_password(password: object, policy: dict[str, Any], email: str = "") -> str:
    if not isinstance(password, str) or not password:
        raise InvalidInput("Enter a password.", fields={"password": "required"})
    if len(password) < policy["min_length"]:
        raise InvalidInput(f"Use at least {policy['min_length']} characters.", fields={"password": "too_short"})
    if len(password) > policy["max_length"]:
        raise InvalidInput(f"Use at most {policy['max_length']} characters.", fields={"password": "too_long"})
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in password.lower():
        raise InvalidInput("The password must not contain your email address.", fields={"password": "contains_email"})
    return password


def claims_for_scope(user: User, scope: tuple[str, ...]) -> dict[str, Any]:
    """Standard claims released for the granted scopes (OIDC Core §5.4)."""
    available: dict[str, Any] = {k: v for k, v in user.profile.items() if k in PROFILE_CLAIMS or k == "address"}
    available.update(
        {
            "email": user.email,
            "email_verified": user.email_verified,
            "updated_at": user.updated_at,
        }
    )
    if user.phone_number:
        available.update({"phone_number": user.phone_number, "phone_number_verified": user.phone_number_verified})
    released: dict[str, Any] = {}
    for scope_name in scope:
        for claim in SCOPE_CLAIMS.get(scope_name, ()):
            if claim in available and available[claim] not in (None, ""):
                released[claim] = available[claim]
    return released


class AccountService:
    def __init__(self, users: UserRepository, credentials: CredentialRepository) -> None:
        self._users = users
        self._credentials = credentials

    def create_user(
        self,
        tenant_id: TenantId,
        *,
        email: str,
        password: str | None,
        settings: EffectiveSettings,
        verified: bool = False,
        profile: dict[str, Any] | None = None,
        tier_node_id: NodeId = ROOT_NODE,
        status: UserStatus | None = None,
        external_id: str | None = None,
        enterprise: dict[str, Any] | None = None,
    ) -> User:
        """Create an account; raises AlreadyExists when the email is taken in this tenant. ``status`` overrides
        the default (active when verified, pending otherwise), e.g. a provisioned account created disabled."""
        normalized = check_email(email)
        password_hash = None
        if password is not None:
            password_hash = hash_password(check_password(password, settings.section("password_policy"), normalized))
        now = clock.now()
        user = User(
            tenant_id=tenant_id,
            user_id=new_user_id(),
            email=normalized,
            email_verified=verified,
            status=status or ("active" if verified else "pending"),
            profile={k: v for k, v in (profile or {}).items() if k in PROFILE_CLAIMS},
            tier_node_id=tier_node_id,
            created_at=now,
            updated_at=now,
            external_id=external_id,
            enterprise=enterprise or {},
        )
        self._credentials.create_user_with_password(user, password_hash)
        return user

    def set_password(self, tenant_id: TenantId, email: str, password: str, settings: EffectiveSettings) -> None:
        normalized = check_email(email)
        policy = settings.section("password_policy")
        self._credentials.set_password_hash(
            tenant_id, normalized, hash_password(check_password(password, policy, normalized))
        )

    def get(self, tenant_id: TenantId, user_id: UserId) -> User:
        user = self._users.get(tenant_id, user_id)
        if user is None:
            raise NotFound("Unknown user.")
        return user

    def find_by_email(self, tenant_id: TenantId, email: str) -> User:
        user_id = self._users.find_user_id_by_email(tenant_id, check_email(email))
        if user_id is None:
            raise NotFound("Unknown user.")
        return self.get(tenant_id, user_id)
