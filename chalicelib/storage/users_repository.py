"""Users (profile and status) and, separately, the privileged credential repository."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib.core.entities import PasswordLogin, User
from chalicelib.core.errors import AlreadyExists
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.risk import RiskProfile
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import is_condition_failure, translate_errors
from chalicelib.storage.models import EmailLoginItem, MainItem, RiskProfileItem, ThrottleItem, UserItem
from chalicelib.storage.risk_repository import risk_profile_key, to_profile

PROFILE = "PROFILE"
LOGIN = "LOGIN"
THROTTLE = "THROTTLE"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def to_user(item: UserItem) -> User:
    return User(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        email=item.email,
        email_verified=bool(item.email_verified),
        status=item.status,  # type: ignore[arg-type]
        profile=dict(item.profile or {}),
        tier_node_id=NodeId(item.tier_node_id),
        created_at=int(item.created_at),
        updated_at=int(item.updated_at),
        phone_number=item.phone_number,
        phone_number_verified=bool(item.phone_number_verified),
        external_id=item.external_id,
        deletion_scheduled_at=int(item.deletion_scheduled_at or 0),
        devices_forgotten_at=int(item.devices_forgotten_at or 0),
        mfa_factors=tuple(sorted(item.mfa_factors or ())),
        enterprise=dict(item.enterprise or {}),
        anonymous=bool(item.anonymous),
    )


def user_item_for(user: User, email: str) -> UserItem:
    return UserItem(
        *user_key(user.tenant_id, user.user_id),
        gsi1pk=keys.users_index(user.tenant_id),
        gsi1sk=f"{user.created_at:012d}#{user.user_id}",
        tenant_id=user.tenant_id,
        user_id=user.user_id,
        email=email,
        email_verified=user.email_verified,
        status=user.status,
        profile=user.profile,
        tier_node_id=user.tier_node_id,
        phone_number=user.phone_number,
        phone_number_verified=user.phone_number_verified,
        created_at=user.created_at,
        updated_at=user.updated_at,
        external_id=user.external_id,
        deletion_scheduled_at=user.deletion_scheduled_at,
        devices_forgotten_at=user.devices_forgotten_at,
        mfa_factors=set(user.mfa_factors) or None,
        enterprise=user.enterprise or None,
        anonymous=True if user.anonymous else None,
    )


def user_key(tenant_id: TenantId, user_id: str) -> tuple[str, str]:
    return keys.user(tenant_id, user_id), PROFILE


def login_key(tenant_id: TenantId, email: str) -> tuple[str, str]:
    """The key of the email login (uniqueness guard and password hash) of ``email``, normalised here."""
    return keys.email_login(tenant_id, normalize_email(email)), LOGIN


def login_item_for(user: User, email: str, password_hash: str | None) -> EmailLoginItem:
    """A new email login of ``user`` under ``email`` (already normalised)."""
    return EmailLoginItem(
        *login_key(user.tenant_id, email),
        tenant_id=user.tenant_id,
        email=email,
        user_id=user.user_id,
        password_hash=password_hash,
    )


def moved_login(old: EmailLoginItem, tenant_id: TenantId, user_id: str, new_email: str) -> EmailLoginItem:
    """The login ``old`` under ``new_email`` (already normalised): same user, password hash and lockout state."""
    return EmailLoginItem(
        *login_key(tenant_id, new_email),
        tenant_id=tenant_id,
        email=new_email,
        user_id=user_id,
        password_hash=old.password_hash,
        failed_attempts=old.failed_attempts,
        locked_until=old.locked_until,
        lock_count=old.lock_count,
    )


def _to_login(item: EmailLoginItem) -> PasswordLogin:
    return PasswordLogin(
        tenant_id=TenantId(item.tenant_id),
        email=item.email,
        user_id=UserId(item.user_id),
        password_hash=item.password_hash,
        failed_attempts=int(item.failed_attempts or 0),
        locked_until=int(item.locked_until or 0),
        lock_count=int(item.lock_count or 0),
    )


class DynamoUserRepository:
    @translate_errors
    def get(self, tenant_id: TenantId, user_id: UserId) -> User | None:
        try:
            return to_user(UserItem.get(*user_key(tenant_id, user_id)))
        except DoesNotExist:
            return None

    @translate_errors
    def get_with_risk_profile(self, tenant_id: TenantId, user_id: UserId) -> tuple[User | None, RiskProfile]:
        user: User | None = None
        profile = RiskProfile()
        for item in MainItem.batch_get([user_key(tenant_id, user_id), risk_profile_key(tenant_id, user_id)]):
            if isinstance(item, UserItem) and item.tenant_id == tenant_id:
                user = to_user(item)
            elif isinstance(item, RiskProfileItem):
                profile = to_profile(item)
        return user, profile

    @translate_errors
    def find_user_id_by_email(self, tenant_id: TenantId, email: str) -> UserId | None:
        try:
            return UserId(EmailLoginItem.get(*login_key(tenant_id, email)).user_id)
        except DoesNotExist:
            return None


class DynamoCredentialRepository:
    @translate_errors
    def create_user_with_password(self, user: User, password_hash: str | None) -> None:
        email = normalize_email(user.email)
        user_item = user_item_for(user, email)
        login_item = login_item_for(user, email, password_hash)
        try:
            with transaction() as tx:
                tx.save(login_item, condition=MainItem.pk.does_not_exist())
                tx.save(user_item, condition=MainItem.pk.does_not_exist())
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise AlreadyExists("An account with this email already exists.") from error
            raise

    @translate_errors
    def get_password_login(self, tenant_id: TenantId, email: str) -> PasswordLogin | None:
        try:
            return _to_login(EmailLoginItem.get(*login_key(tenant_id, email)))
        except DoesNotExist:
            return None

    @translate_errors
    def get_login_with_throttles(
        self, tenant_id: TenantId, email: str, throttle_subjects: Sequence[str]
    ) -> tuple[PasswordLogin | None, dict[str, dict[str, int]]]:
        email_login = login_key(tenant_id, email)
        throttle_keys = {keys.throttle(tenant_id, s): s for s in throttle_subjects}
        login: PasswordLogin | None = None
        throttles: dict[str, dict[str, int]] = {}
        for item in MainItem.batch_get([email_login, *((k, THROTTLE) for k in throttle_keys)]):
            if isinstance(item, EmailLoginItem):
                login = _to_login(item)
            elif isinstance(item, ThrottleItem):
                throttles[throttle_keys[item.pk]] = {
                    "failures": int(item.failures or 0),
                    "window_start": int(item.window_start or 0),
                    "blocked_until": int(item.blocked_until or 0),
                    "block_count": int(item.block_count or 0),
                }
        return login, throttles

    @translate_errors
    def set_password_hash(
        self, tenant_id: TenantId, email: str, password_hash: str, *, replaces: str | None = None
    ) -> bool:
        item = EmailLoginItem(*login_key(tenant_id, email))
        condition = MainItem.pk.exists()
        if replaces is not None:
            condition &= EmailLoginItem.password_hash == replaces
        try:
            item.update(actions=[EmailLoginItem.password_hash.set(password_hash)], condition=condition)
        except UpdateError as error:
            if replaces is not None and is_condition_failure(error):
                return False
            raise
        return True
