"""The self-service account's own data: profile edits, scheduled deletion, consent receipts, data exports, and
the erasure of everything an account left in the main table.

Receipts and exports live in the user's partition (``PK = T#<tenant>#USER#<user>``), next to the profile and the
consents, so erasing the partition erases them; sessions, grants and codes are found through their per-user GSI1
partitions, the email guard through the user's address, verification links and throttles by their derived keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError

from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import ConsentReceipt, DataExport
from chalicelib.core.errors import CodeInvalid, NotFound
from chalicelib.core.ids import ClientId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import is_condition_failure, translate_errors, update_or_raise, updated_if
from chalicelib.storage.models import (
    ConsentReceiptItem,
    DataExportItem,
    DataExportPartItem,
    EmailLoginItem,
    FederatedIdentityItem,
    MainItem,
    PhoneChangeItem,
    ThrottleItem,
    UserItem,
    VerificationItem,
)
from chalicelib.storage.users_repository import PROFILE, THROTTLE, login_key

VERIFY = "VERIFY"
PHONE_CHANGE = "PHONE_CHANGE"
FEDERATED_IDENTITY_SK = "FEDID"  # the sort key the federation repository writes


def _ttl(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch + 86400, tz=dt.UTC)


def _to_receipt(item: ConsentReceiptItem) -> ConsentReceipt:
    return ConsentReceipt(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        receipt_id=item.receipt_id,
        client_id=ClientId(item.client_id),
        action="revoked" if item.action == "revoked" else "granted",
        created_at=int(item.created_at),
        document=dict(item.document or {}),
    )


def _to_export(item: DataExportItem) -> DataExport:
    status = item.status if item.status in ("pending", "ready", "failed") else "failed"
    return DataExport(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        export_id=item.export_id,
        status=status,  # type: ignore[arg-type]
        requested_at=int(item.requested_at),
        expires_at=int(item.expires_at),
        link_digest=item.link_digest,
        downloaded_at=int(item.downloaded_at or 0),
        size=int(item.size or 0),
    )


class DynamoAccountDataRepository:
    @translate_errors
    def update_profile(self, tenant_id: TenantId, user_id: UserId, profile: dict[str, Any], *, now: int) -> None:
        update_or_raise(
            UserItem(keys.user(tenant_id, user_id), PROFILE),
            [UserItem.profile.set(profile), UserItem.updated_at.set(now)],
            MainItem.pk.exists(),
            NotFound("Unknown user."),
        )

    @translate_errors
    def schedule_deletion(self, tenant_id: TenantId, user_id: UserId, *, at: int) -> None:
        update_or_raise(
            UserItem(keys.user(tenant_id, user_id), PROFILE),
            [UserItem.deletion_scheduled_at.set(at)],
            MainItem.pk.exists() & (UserItem.status == "active"),
            NotFound("Unknown user."),
        )

    @translate_errors
    def cancel_deletion(self, tenant_id: TenantId, user_id: UserId) -> bool:
        return updated_if(
            UserItem(keys.user(tenant_id, user_id), PROFILE),
            [UserItem.deletion_scheduled_at.set(0)],
            MainItem.pk.exists() & (UserItem.deletion_scheduled_at > 0),
        )

    @translate_errors
    def save_phone_change(
        self, tenant_id: TenantId, user_id: UserId, *, phone_number: str, code_digest: str, expires_at: int, now: int
    ) -> None:
        PhoneChangeItem(
            keys.user(tenant_id, user_id),
            PHONE_CHANGE,
            ttl=_ttl(expires_at),
            phone_number=phone_number,
            code_digest=code_digest,
            expires_at=expires_at,
            sent_at=now,
            attempts=0,
        ).save()

    @translate_errors
    def get_phone_change(self, tenant_id: TenantId, user_id: UserId) -> dict[str, Any] | None:
        try:
            item = PhoneChangeItem.get(keys.user(tenant_id, user_id), PHONE_CHANGE)
        except DoesNotExist:
            return None
        return {
            "phone_number": item.phone_number,
            "code_digest": item.code_digest,
            "expires_at": int(item.expires_at),
            "sent_at": int(item.sent_at),
            "attempts": int(item.attempts or 0),
        }

    @translate_errors
    def count_phone_attempt(self, tenant_id: TenantId, user_id: UserId, *, max_attempts: int) -> bool:
        return updated_if(
            PhoneChangeItem(keys.user(tenant_id, user_id), PHONE_CHANGE),
            [PhoneChangeItem.attempts.add(1)],
            MainItem.pk.exists() & (PhoneChangeItem.attempts < max_attempts),
        )

    @translate_errors
    def apply_phone_change(self, tenant_id: TenantId, user_id: UserId, *, phone_number: str, now: int) -> None:
        partition = keys.user(tenant_id, user_id)
        try:
            with transaction() as tx:
                tx.delete(PhoneChangeItem(partition, PHONE_CHANGE), condition=MainItem.pk.exists())
                tx.update(
                    UserItem(partition, PROFILE),
                    actions=[
                        UserItem.phone_number.set(phone_number),
                        UserItem.phone_number_verified.set(True),
                        UserItem.updated_at.set(now),
                    ],
                    condition=MainItem.pk.exists(),
                )
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise CodeInvalid("This code is invalid or has expired.") from error
            raise

    @translate_errors
    def unlink_identity(self, tenant_id: TenantId, user_id: UserId, integration: str, subject: str) -> bool:
        item = FederatedIdentityItem(
            keys.federated_identity(tenant_id, integration, secret_digest(subject)), FEDERATED_IDENTITY_SK
        )
        try:
            item.delete(condition=FederatedIdentityItem.user_id == user_id)
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @translate_errors
    def forget_devices(self, tenant_id: TenantId, user_id: UserId, *, now: int) -> None:
        update_or_raise(
            UserItem(keys.user(tenant_id, user_id), PROFILE),
            [UserItem.devices_forgotten_at.set(now)],
            MainItem.pk.exists(),
            NotFound("Unknown user."),
        )

    # --- consent receipts ------------------------------------------------------------------------------------

    @translate_errors
    def add_receipt(self, receipt: ConsentReceipt) -> None:
        ConsentReceiptItem(
            keys.user(receipt.tenant_id, receipt.user_id),
            keys.consent_receipt_sk(receipt.created_at, receipt.receipt_id),
            tenant_id=receipt.tenant_id,
            user_id=receipt.user_id,
            receipt_id=receipt.receipt_id,
            client_id=receipt.client_id,
            action=receipt.action,
            created_at=receipt.created_at,
            document=receipt.document,
        ).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def list_receipts(self, tenant_id: TenantId, user_id: UserId) -> list[ConsentReceipt]:
        return [
            _to_receipt(item)
            for item in ConsentReceiptItem.query(keys.user(tenant_id, user_id), MainItem.sk.startswith("RECEIPT#"))
            if isinstance(item, ConsentReceiptItem)
        ]

    # --- data exports ----------------------------------------------------------------------------------------

    @translate_errors
    def create_export(self, export: DataExport) -> None:
        DataExportItem(
            keys.user(export.tenant_id, export.user_id),
            keys.data_export_sk(export.export_id),
            ttl=_ttl(export.expires_at),
            tenant_id=export.tenant_id,
            user_id=export.user_id,
            export_id=export.export_id,
            status=export.status,
            requested_at=export.requested_at,
            expires_at=export.expires_at,
        ).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def get_export(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> DataExport | None:
        try:
            return _to_export(DataExportItem.get(keys.user(tenant_id, user_id), keys.data_export_sk(export_id)))
        except DoesNotExist:
            return None

    @translate_errors
    def list_exports(self, tenant_id: TenantId, user_id: UserId) -> list[DataExport]:
        return [
            _to_export(item)
            for item in DataExportItem.query(keys.user(tenant_id, user_id), MainItem.sk.startswith("EXPORT#"))
            if isinstance(item, DataExportItem)
        ]

    @translate_errors
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
        partition = keys.user(tenant_id, user_id)
        # Parts first, then the ready mark: a download never sees a half-written file. Re-running overwrites.
        for index, payload in enumerate(parts):
            DataExportPartItem(
                partition, keys.data_export_part_sk(export_id, index), payload=payload, ttl=_ttl(expires_at)
            ).save()
        DataExportItem(partition, keys.data_export_sk(export_id)).update(
            actions=[
                DataExportItem.status.set("ready"),
                DataExportItem.parts.set(len(parts)),
                DataExportItem.size.set(size),
                DataExportItem.expires_at.set(expires_at),
                DataExportItem.ttl.set(_ttl(expires_at)),
            ],
            condition=MainItem.pk.exists() & (DataExportItem.downloaded_at == 0),
        )

    @translate_errors
    def set_export_link(
        self, tenant_id: TenantId, user_id: UserId, export_id: str, *, link_digest: str, expires_at: int
    ) -> None:
        update_or_raise(
            DataExportItem(keys.user(tenant_id, user_id), keys.data_export_sk(export_id)),
            [DataExportItem.link_digest.set(link_digest), DataExportItem.expires_at.set(expires_at)],
            (DataExportItem.status == "ready") & (DataExportItem.downloaded_at == 0),
            CodeInvalid(detail="export not ready or already downloaded"),
        )

    @translate_errors
    def mark_export_failed(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> None:
        updated_if(
            DataExportItem(keys.user(tenant_id, user_id), keys.data_export_sk(export_id)),
            [DataExportItem.status.set("failed")],
            MainItem.pk.exists(),
        )

    @translate_errors
    def consume_export(
        self, tenant_id: TenantId, user_id: UserId, export_id: str, *, link_digest: str, now: int
    ) -> tuple[DataExport, list[bytes]]:
        item = DataExportItem(keys.user(tenant_id, user_id), keys.data_export_sk(export_id))
        update_or_raise(
            item,
            [DataExportItem.downloaded_at.set(now)],
            (DataExportItem.status == "ready")
            & (DataExportItem.downloaded_at == 0)
            & (DataExportItem.expires_at > now)
            & (DataExportItem.link_digest == link_digest),
            CodeInvalid("This download link is invalid, expired or was used."),
        )
        partition = keys.user(tenant_id, user_id)
        parts = [
            bytes(part.payload)
            for part in DataExportPartItem.query(partition, MainItem.sk.startswith(f"EXPORT#{export_id}#PART#"))
            if isinstance(part, DataExportPartItem)
        ]
        if len(parts) != int(item.parts or 0):
            raise CodeInvalid("This export is incomplete.", detail="missing export parts")
        return _to_export(item), parts

    # --- erasure ---------------------------------------------------------------------------------------------

    @translate_errors
    def erase_user(
        self,
        tenant_id: TenantId,
        user_id: UserId,
        *,
        verification_ids: Sequence[str] = (),
        throttle_subjects: Sequence[str] = (),
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        doomed: list[MainItem] = []

        def take(kind: str, items: Sequence[MainItem]) -> None:
            counts[kind] = counts.get(kind, 0) + len(items)
            doomed.extend(items)

        partition = list(MainItem.query(keys.user(tenant_id, user_id)))
        for item in partition:
            if isinstance(item, UserItem) and item.email:
                try:
                    login = EmailLoginItem.get(*login_key(tenant_id, item.email))
                except DoesNotExist:
                    continue
                if login.user_id == user_id:
                    take("email_guard", [login])
        take("user_partition", partition)
        for kind, index in (
            ("sessions", keys.user_sessions_index(tenant_id, user_id)),
            ("grants", keys.user_grants_index(tenant_id, user_id)),
            ("authorization_codes", keys.user_codes_index(tenant_id, user_id)),
            ("mfa_challenges", keys.user_mfa_challenges_index(tenant_id, user_id)),
            ("federated_identities", keys.user_federated_identities_index(tenant_id, user_id)),
            ("federated_logins", keys.user_federated_logins_index(tenant_id, user_id)),
        ):
            take(kind, list(MainItem.gsi1.query(index)))
        wanted = [(keys.verification(tenant_id, v), VERIFY) for v in verification_ids]
        wanted += [(keys.throttle(tenant_id, s), THROTTLE) for s in throttle_subjects]
        for found in MainItem.batch_get(wanted) if wanted else []:
            if isinstance(found, VerificationItem) and found.user_id == user_id:
                take("verifications", [found])
            elif isinstance(found, ThrottleItem):
                take("throttles", [found])
        with MainItem.batch_write() as batch:
            for item in doomed:
                batch.delete(item)
        return counts
