"""The access-token liveness check (userinfo, the account portal): one BatchGetItem of the revoked-``jti`` marker,
the grant and the user, through the hot-path botocore client (``storage/connection.py``) with keys written directly; the
grant is read from the raw response, the user through its PynamoDB model (``from_raw_data``)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import settings
from chalicelib.core.entities import Grant, User
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import hot_path_client
from chalicelib.storage.grant_rotation import GRANT_SK, grant_of
from chalicelib.storage.models import UserItem
from chalicelib.storage.users_repository import to_user, user_key

ATTEMPTS = 4  # UnprocessedKeys (throttling) are asked for again, as PynamoDB's batch_get does


def _tombstone_or_grant(attributes: dict[str, Any]) -> Grant:
    grant = grant_of(attributes)
    if not grant.client_id and not grant.revoked_at:  # a tombstone always counts as revoked
        from dataclasses import replace

        return replace(grant, revoked_at=1)
    return grant


def read_token_state(
    tenant_id: TenantId, *, grant_id: str | None, jti: str, user_id: UserId | None
) -> tuple[Grant | None, bool, User | None]:
    """(grant, jti revoked?, user) in one round trip; items of another tenant or type count as absent."""
    wanted: dict[tuple[str, str], str] = {(keys.revoked_token(tenant_id, jti), "JTI"): "revoked_token"}
    if grant_id:
        wanted[(keys.grant(tenant_id, grant_id), GRANT_SK)] = "grant"
    if user_id:
        wanted[user_key(tenant_id, user_id)] = "user"
    table = settings().main_table
    request: dict[str, Any] = {table: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in wanted]}}
    found: dict[str, dict[str, Any]] = {}
    try:
        for _ in range(ATTEMPTS):
            response = hot_path_client().batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                kind = wanted.get((item["PK"]["S"], item["SK"]["S"]))
                if kind is not None and item.get("type", {}).get("S") == kind:
                    found[kind] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise DependencyUnavailable(detail="dynamodb read_token_state: keys left unprocessed")
    except (ClientError, BotoCoreError) as error:
        raise DependencyUnavailable(detail=f"dynamodb read_token_state: {error}") from error
    grant_item, user_item = found.get("grant"), found.get("user")
    grant = _tombstone_or_grant(grant_item) if grant_item is not None else None
    user = to_user(UserItem.from_raw_data(user_item)) if user_item is not None else None
    if grant is not None and grant.tenant_id != tenant_id:
        grant = None
    if user is not None and user.tenant_id != tenant_id:
        user = None
    return grant, "revoked_token" in found, user
