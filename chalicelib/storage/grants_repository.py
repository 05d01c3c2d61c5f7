"""Grants (refresh-token families), revoked access tokens and used client assertions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.core.digests import constant_time_equals
from chalicelib.core.entities import AuditEvent, Grant, User
from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.ids import ClientId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.audit_repository import audit_item_for
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import cancelled_indexes, is_condition_failure, translate_errors
from chalicelib.storage.grant_rotation import rotate_grant
from chalicelib.storage.models import (
    ROTATION_HISTORY,
    AuditItem,
    GrantItem,
    MainItem,
    RevokedTokenItem,
    UsedAssertionItem,
)
from chalicelib.storage.token_state import read_token_state

GRANT = "GRANT"


def _ttl(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch + 86400, tz=dt.UTC)


def _to_grant(item: GrantItem) -> Grant:
    if not item.client_id:  # a tombstone written by revoke(): nothing was ever issued from it
        return _tombstone(item)
    return Grant(
        tenant_id=TenantId(item.tenant_id),
        grant_id=item.grant_id,
        client_id=ClientId(item.client_id),
        user_id=UserId(item.user_id),
        scope=tuple(item.scope),
        session_id=item.session_id,
        auth_time=int(item.auth_time),
        acr=item.acr,
        amr=tuple(item.amr),
        claims=dict(item.claims),
        created_at=int(item.created_at),
        expires_at=int(item.expires_at),
        current_digest=item.current_digest,
        previous_digest=item.previous_digest,
        rotated_at=int(item.rotated_at or 0),
        revoked_at=int(item.revoked_at or 0),
        generation=int(item.generation or 0),
    )


def _tombstone(item: GrantItem) -> Grant:
    return Grant(
        tenant_id=TenantId(item.tenant_id),
        grant_id=item.grant_id,
        client_id=ClientId(""),
        user_id=UserId(""),
        scope=(),
        session_id="",
        auth_time=0,
        acr="",
        amr=(),
        claims={},
        created_at=0,
        expires_at=int(item.expires_at or 0),
        revoked_at=int(item.revoked_at or 1),
    )


def grant_item(grant: Grant) -> GrantItem:
    """The stored form of a new grant (also written by the anonymous identities' transaction)."""
    return GrantItem(
        keys.grant(grant.tenant_id, grant.grant_id),
        GRANT,
        gsi1pk=keys.user_grants_index(grant.tenant_id, grant.user_id),
        gsi1sk=f"{grant.created_at:012d}#{grant.grant_id}",
        ttl=_ttl(grant.expires_at),
        tenant_id=grant.tenant_id,
        grant_id=grant.grant_id,
        client_id=grant.client_id,
        user_id=grant.user_id,
        scope=list(grant.scope),
        session_id=grant.session_id,
        auth_time=grant.auth_time,
        acr=grant.acr,
        amr=list(grant.amr),
        claims=grant.claims,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        current_digest=grant.current_digest,
        generation=grant.generation,
    )


class DynamoGrantRepository:
    @translate_errors
    def create(self, grant: Grant, events: Sequence[AuditEvent] = ()) -> None:
        item = grant_item(grant)
        if events:
            # One TransactWriteItems instead of the PutItem: the grant and its audit events, no extra request.
            try:
                with transaction() as tx:
                    tx.save(item, condition=MainItem.pk.does_not_exist())
                    for event in events:
                        tx.save(audit_item_for(event), condition=AuditItem.pk.does_not_exist())
            except TransactWriteError as error:
                if 0 in cancelled_indexes(error):
                    raise AlreadyExists("grant exists") from error
                raise
            return
        try:
            item.save(condition=MainItem.pk.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                raise AlreadyExists("grant exists") from error
            raise

    @translate_errors
    def get(self, tenant_id: TenantId, grant_id: str) -> Grant | None:
        try:
            return _to_grant(GrantItem.get(keys.grant(tenant_id, grant_id), GRANT))
        except DoesNotExist:
            return None

    @translate_errors
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
        rotated = rotate_grant(
            tenant_id,
            grant_id,
            generation=generation,
            presented_digest=presented_digest,
            new_digest=new_digest,
            client_id=client_id,
            now=now,
        )
        if rotated is not None:
            return rotated
        return self._rotate_after_conflict(
            tenant_id, grant_id, presented_digest, new_digest, client_id, now, grace_seconds
        )

    def _rotate_after_conflict(
        self,
        tenant_id: TenantId,
        grant_id: str,
        presented_digest: str,
        new_digest: str,
        client_id: ClientId,
        now: int,
        grace_seconds: int,
    ) -> Grant:
        try:
            old = GrantItem.get(keys.grant(tenant_id, grant_id), GRANT)
        except DoesNotExist:
            raise CodeInvalid(detail="unknown grant") from None
        if old.client_id != client_id or old.revoked_at or old.expires_at <= now:
            raise CodeInvalid(detail="grant revoked, expired or bound to another client")
        previous = old.previous_digest or ""
        in_grace = grace_seconds > 0 and now - int(old.rotated_at) <= grace_seconds
        if in_grace and constant_time_equals(previous, presented_digest):
            # The immediately preceding token inside the grace window: a network retry. Rotate again from it.
            try:
                old.update(
                    # One retry only: the previous token leaves the grace slot, so a second replay is reuse.
                    actions=[
                        GrantItem.current_digest.set(new_digest),
                        GrantItem.rotated_at.set(now),
                        GrantItem.previous_digest.remove(),
                    ],
                    condition=(GrantItem.previous_digest == presented_digest)
                    & (GrantItem.rotated_at == old.rotated_at)
                    & (GrantItem.revoked_at == 0),
                )
                return _to_grant(old)
            except UpdateError as error:
                if not is_condition_failure(error):
                    raise
                raise CodeInvalid(detail="concurrent rotation") from error
        history = [getattr(old, f"h{i}") or "" for i in range(ROTATION_HISTORY)] + [previous]
        if any(constant_time_equals(h, presented_digest) for h in history if h):
            # RFC 9700 §4.14.2: a rotated refresh token came back; revoke the whole family.
            self.revoke(tenant_id, grant_id, now=now)
            raise CodeInvalid(detail="refresh token reuse", reuse_detected=True)
        raise CodeInvalid(detail="refresh token does not match")

    @translate_errors
    def revoke(self, tenant_id: TenantId, grant_id: str, *, now: int) -> None:
        """Revoke the grant. A grant that does not exist yet is created revoked (a tombstone), so a concurrent
        exchange of the same code cannot create it afterwards (its create is conditional on absence)."""
        try:
            GrantItem(keys.grant(tenant_id, grant_id), GRANT).update(
                actions=[
                    GrantItem.item_type.set(GrantItem),
                    GrantItem.revoked_at.set(now),
                    GrantItem.tenant_id.set(tenant_id),
                    GrantItem.grant_id.set(grant_id),
                    GrantItem.client_id.set(GrantItem.client_id | ""),
                    GrantItem.user_id.set(GrantItem.user_id | ""),
                    GrantItem.expires_at.set(GrantItem.expires_at | now + 86400),
                    GrantItem.ttl.set(GrantItem.ttl | _ttl(now + 86400)),
                ],
                condition=MainItem.pk.does_not_exist() | (GrantItem.revoked_at == 0),
            )
        except UpdateError as error:
            if not is_condition_failure(error):
                raise

    @translate_errors
    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[Grant]:
        return [
            _to_grant(i)
            for i in MainItem.gsi1.query(keys.user_grants_index(tenant_id, user_id))
            if isinstance(i, GrantItem)
        ]

    @translate_errors
    def get_token_state(
        self, tenant_id: TenantId, *, grant_id: str | None, jti: str, user_id: UserId | None
    ) -> tuple[Grant | None, bool, User | None]:
        return read_token_state(tenant_id, grant_id=grant_id, jti=jti, user_id=user_id)

    @translate_errors
    def revoke_access_token(self, tenant_id: TenantId, jti: str, *, expires_at: int) -> None:
        RevokedTokenItem(keys.revoked_token(tenant_id, jti), "JTI", expires_at=expires_at, ttl=_ttl(expires_at)).save()

    @translate_errors
    def use_client_assertion(self, tenant_id: TenantId, client_id: ClientId, jti: str, *, expires_at: int) -> None:
        item = UsedAssertionItem(
            keys.client_assertion_jti(tenant_id, client_id, jti), "JTI", expires_at=expires_at, ttl=_ttl(expires_at)
        )
        try:
            item.save(condition=MainItem.pk.does_not_exist())
        except PutError as error:
            if is_condition_failure(error):
                raise CodeInvalid(detail="client assertion replayed") from error
            raise
