"""Privileged user provisioning (SCIM): list a tenant's users, replace and delete accounts with their email guard.

Listing queries the tenant's users index (``GSI1PK = T#<tenant>#USERS``), so it is tenant-scoped by construction.
It reads every user of the tenant; SCIM filters are applied by the caller. That is fine for tenants of a few
thousand users; beyond that, filters on ``userName``/``externalId`` need their own index (see README).
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError

from chalicelib.core.entities import User
from chalicelib.core.errors import AlreadyExists, Conflict, NotFound
from chalicelib.core.ids import TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import cancelled_indexes, is_condition_failure, translate_errors, update_or_raise
from chalicelib.storage.models import EmailLoginItem, MainItem, UserItem
from chalicelib.storage.users_repository import login_key, moved_login, normalize_email, to_user, user_key


class DynamoProvisioningRepository:
    @translate_errors
    def list_users(self, tenant_id: TenantId) -> list[User]:
        return [
            to_user(item)
            for item in MainItem.gsi1.query(keys.users_index(tenant_id))
            if isinstance(item, UserItem) and item.tenant_id == tenant_id
        ]

    @translate_errors
    def replace_user(self, user: User, *, previous_email: str) -> None:
        """Write the user; when the email changed, move the email guard (with the password) in the same
        transaction. NotFound if the user is gone, AlreadyExists if the new email is taken, Conflict if the
        stored email is no longer ``previous_email``."""
        old_email = normalize_email(previous_email)
        new_email = normalize_email(user.email)
        item = UserItem(*user_key(user.tenant_id, user.user_id))
        actions = _account_fields(user, new_email)
        same_user = MainItem.pk.exists() & (UserItem.email == old_email)
        if old_email == new_email:
            update_or_raise(item, actions, same_user, Conflict(detail="user gone or changed"))
            return
        try:
            old = EmailLoginItem.get(*login_key(user.tenant_id, old_email), consistent_read=True)
        except DoesNotExist as error:
            raise NotFound("Unknown user.") from error
        moved = moved_login(old, user.tenant_id, user.user_id, new_email)
        try:
            with transaction() as tx:
                tx.delete(old, condition=EmailLoginItem.user_id == user.user_id)
                tx.save(moved, condition=MainItem.pk.does_not_exist())
                tx.update(item, actions=actions, condition=same_user)
        except TransactWriteError as error:
            failed = cancelled_indexes(error)
            if failed == [1]:
                raise AlreadyExists("An account with this email already exists.") from error
            if failed:
                raise Conflict(detail="user or login changed") from error
            raise

    @translate_errors
    def delete_user(self, tenant_id: TenantId, user_id: UserId) -> bool:
        """Delete the user and its email guard in one transaction; False if there was no such user."""
        try:
            user = UserItem.get(*user_key(tenant_id, user_id), consistent_read=True)
        except DoesNotExist:
            return False
        email = normalize_email(user.email)
        try:
            with transaction() as tx:
                tx.delete(
                    EmailLoginItem(*login_key(tenant_id, email)),
                    condition=EmailLoginItem.user_id == user_id,
                )
                tx.delete(UserItem(*user_key(tenant_id, user_id)), condition=UserItem.email == email)
        except (TransactWriteError, DeleteError) as error:
            if is_condition_failure(error):
                raise Conflict(detail="user changed while deleting") from error
            raise
        return True


def _account_fields(user: User, email: str) -> list[Any]:
    """SET/REMOVE actions for the attributes provisioning owns. The MFA factor summary, the deletion schedule and
    the forgotten-devices mark belong to other services, which change them with their own conditional updates:
    a full-item write here could silently undo an enrolment made between our read and this write."""
    optional: list[tuple[Any, Any]] = [
        (UserItem.phone_number, user.phone_number),
        (UserItem.external_id, user.external_id),
        (UserItem.enterprise, user.enterprise or None),
        (UserItem.anonymous, True if user.anonymous else None),
    ]
    return [
        UserItem.email.set(email),
        UserItem.email_verified.set(user.email_verified),
        UserItem.status.set(user.status),
        UserItem.profile.set(user.profile),
        UserItem.tier_node_id.set(user.tier_node_id),
        UserItem.phone_number_verified.set(user.phone_number_verified),
        UserItem.updated_at.set(user.updated_at),
        *(attribute.set(value) if value is not None else attribute.remove() for attribute, value in optional),
    ]
