"""Pending accounts and their email links: creation and clean-up as transactions, single-use links, email moves.

Every multi-item change is one ``TransactWrite``, so a failure leaves nothing half-written: a pending account is
its user item, its email guard (the login item, holding the password hash) and its verification, created together
and deleted together. Using a link is a conditional update (unused, unexpired, this kind, this digest).
"""

from __future__ import annotations

import datetime as dt

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.core.entities import AuditEvent, User, Verification, VerificationKind
from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.ids import TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.audit_repository import audit_item_for
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import (
    cancelled_indexes,
    is_condition_failure,
    translate_errors,
    update_or_raise,
    updated_if,
)
from chalicelib.storage.models import AuditItem, EmailLoginItem, MainItem, UserItem, VerificationItem
from chalicelib.storage.users_repository import (
    login_item_for,
    login_key,
    moved_login,
    normalize_email,
    user_item_for,
    user_key,
)

SK = "VERIFY"
KEEP_AFTER_EXPIRY = 7 * 86400  # used and expired links linger a week for support, then TTL removes them


def _ttl(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch + KEEP_AFTER_EXPIRY, tz=dt.UTC)


def _to_verification(item: VerificationItem) -> Verification:
    return Verification(
        tenant_id=TenantId(item.tenant_id),
        verification_id=item.verification_id,
        kind=item.kind,  # type: ignore[arg-type]
        user_id=UserId(item.user_id),
        expires_at=int(item.expires_at),
        created_at=int(item.created_at),
        link_digest=item.link_digest,
        consumed_at=int(item.consumed_at or 0),
        task_token=item.task_token,
        sent_at=int(item.sent_at or 0),
        send_count=int(item.send_count or 0),
        new_email=item.new_email,
        resume=dict(item.resume) if item.resume else None,
    )


def _item(v: Verification) -> VerificationItem:
    return VerificationItem(
        keys.verification(v.tenant_id, v.verification_id),
        SK,
        ttl=_ttl(v.expires_at),
        tenant_id=v.tenant_id,
        verification_id=v.verification_id,
        kind=v.kind,
        user_id=v.user_id,
        expires_at=v.expires_at,
        created_at=v.created_at,
        link_digest=v.link_digest,
        consumed_at=v.consumed_at,
        task_token=v.task_token,
        sent_at=v.sent_at,
        send_count=v.send_count,
        new_email=v.new_email,
        resume=v.resume,
    )


def _key(tenant_id: TenantId, verification_id: str) -> VerificationItem:
    return VerificationItem(keys.verification(tenant_id, verification_id), SK)


def _usable(kind: VerificationKind, link_digest: str, now: int) -> Condition:
    condition: Condition = (
        (VerificationItem.link_digest == link_digest)
        & (VerificationItem.consumed_at == 0)
        & (VerificationItem.expires_at > now)
        & (VerificationItem.kind == kind)
    )
    return condition


class DynamoVerificationRepository:
    @translate_errors
    def create_pending_account(
        self, user: User, password_hash: str | None, verification: Verification, event: AuditEvent | None = None
    ) -> None:
        email = normalize_email(user.email)
        login = login_item_for(user, email, password_hash)
        try:
            with transaction() as tx:
                tx.save(login, condition=MainItem.pk.does_not_exist())
                tx.save(user_item_for(user, email), condition=MainItem.pk.does_not_exist())
                tx.save(_item(verification), condition=MainItem.pk.does_not_exist())
                _with_event(tx, event)
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise AlreadyExists("An account with this email already exists.") from error
            raise

    @translate_errors
    def delete_pending_account(self, tenant_id: TenantId, user_id: UserId, verification_id: str) -> bool:
        try:
            user = UserItem.get(*user_key(tenant_id, user_id), consistent_read=True)
        except DoesNotExist:
            return False
        try:
            with transaction() as tx:
                tx.delete(UserItem(*user_key(tenant_id, user_id)), condition=UserItem.status == "pending")
                tx.delete(
                    EmailLoginItem(*login_key(tenant_id, user.email)),
                    condition=EmailLoginItem.user_id == user_id,
                )
                tx.delete(
                    _key(tenant_id, verification_id),
                    condition=(VerificationItem.consumed_at == 0) & (VerificationItem.user_id == user_id),
                )
        except TransactWriteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @translate_errors
    def get(self, tenant_id: TenantId, verification_id: str) -> Verification | None:
        try:
            item = VerificationItem.get(keys.verification(tenant_id, verification_id), SK, consistent_read=True)
        except DoesNotExist:
            return None
        return _to_verification(item) if item.tenant_id == tenant_id else None

    @translate_errors
    def save(self, verification: Verification) -> None:
        _item(verification).save()

    @translate_errors
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
        item = _key(tenant_id, verification_id)
        actions: list[Action] = [
            VerificationItem.link_digest.set(link_digest),
            VerificationItem.expires_at.set(expires_at),
            VerificationItem.send_count.add(1),
            VerificationItem.ttl.set(_ttl(expires_at)),
        ]
        if task_token is not None:
            actions.append(VerificationItem.task_token.set(task_token))
        condition = MainItem.pk.exists() & (VerificationItem.consumed_at == 0)
        if max_sends is not None:
            condition &= VerificationItem.send_count < max_sends
        update_or_raise(item, actions, condition, CodeInvalid(detail="verification gone, used, or sent too often"))
        return _to_verification(item)

    @translate_errors
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
        item = _key(tenant_id, verification_id)
        use = VerificationItem.consumed_at.set(now)
        try:
            if set_password is None:
                item.update(actions=[use], condition=_usable(kind, link_digest, now))
                return _to_verification(item)
            current = self.get(tenant_id, verification_id)
            if current is None:
                raise CodeInvalid(detail="unknown link")
            email, password_hash = set_password
            with transaction() as tx:
                tx.update(item, actions=[use], condition=_usable(kind, link_digest, now))
                tx.update(
                    EmailLoginItem(*login_key(tenant_id, email)),
                    actions=[EmailLoginItem.password_hash.set(password_hash)],
                    condition=EmailLoginItem.user_id == current.user_id,
                )
                _with_event(tx, event)
        except (UpdateError, TransactWriteError) as error:
            if is_condition_failure(error):
                raise CodeInvalid(detail="link unknown, used, expired or replaced") from error
            raise
        # Once used, nothing changes the item any more: this read sees the final task token.
        used = self.get(tenant_id, verification_id)
        if used is None:
            raise CodeInvalid(detail="link deleted while being used")
        return used

    @translate_errors
    def mark_sent(self, tenant_id: TenantId, verification_id: str, *, now: int) -> None:
        updated_if(_key(tenant_id, verification_id), [VerificationItem.sent_at.set(now)], MainItem.pk.exists())

    @translate_errors
    def activate(self, tenant_id: TenantId, user_id: UserId, *, now: int) -> bool:
        return updated_if(
            UserItem(*user_key(tenant_id, user_id)),
            [UserItem.status.set("active"), UserItem.email_verified.set(True), UserItem.updated_at.set(now)],
            MainItem.pk.exists() & (UserItem.status == "pending"),
        )

    @translate_errors
    def change_email(
        self,
        tenant_id: TenantId,
        verification_id: str,
        *,
        link_digest: str,
        now: int,
        event: AuditEvent | None = None,
    ) -> tuple[str, str]:
        verification = self.get(tenant_id, verification_id)
        if verification is None or not verification.new_email:
            raise CodeInvalid(detail="unknown email change")
        try:
            user = UserItem.get(*user_key(tenant_id, verification.user_id), consistent_read=True)
            old = EmailLoginItem.get(*login_key(tenant_id, user.email))
        except DoesNotExist as error:
            raise CodeInvalid(detail="account or login gone") from error
        new_email = normalize_email(verification.new_email)
        moved = moved_login(old, tenant_id, verification.user_id, new_email)
        same_password = (
            EmailLoginItem.password_hash == old.password_hash
            if old.password_hash is not None
            else EmailLoginItem.password_hash.does_not_exist()
        )
        try:
            with transaction() as tx:
                tx.update(
                    _key(tenant_id, verification_id),
                    actions=[VerificationItem.consumed_at.set(now)],
                    condition=_usable("email_change", link_digest, now),
                )
                tx.delete(old, condition=(EmailLoginItem.user_id == verification.user_id) & same_password)
                tx.save(moved, condition=MainItem.pk.does_not_exist())
                tx.update(
                    UserItem(*user_key(tenant_id, verification.user_id)),
                    actions=[
                        UserItem.email.set(new_email),
                        UserItem.email_verified.set(True),
                        UserItem.updated_at.set(now),
                    ],
                    condition=UserItem.email == user.email,
                )
                _with_event(tx, event)
        except TransactWriteError as error:
            failed = cancelled_indexes(error)
            if failed == [2]:
                raise AlreadyExists("This email address is already used by another account.") from error
            if failed:
                raise CodeInvalid(detail="link unknown, used, expired or the account changed") from error
            raise
        return str(user.email), new_email


def _with_event(tx: TransactWrite, event: AuditEvent | None) -> None:
    """The change's audit event rides in its transaction (which may span the audit table)."""
    if event is not None:
        tx.save(audit_item_for(event), condition=AuditItem.pk.does_not_exist())


verification_item = _item  # the stored form of a verification, for transactions written elsewhere (anonymous upgrade)
