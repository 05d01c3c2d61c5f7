"""The refresh hot path: one conditional UpdateItem through the hot-path botocore client (``storage/connection.py``),
with the expressions written once here rather than built per call from model attributes, and the rotated grant
built from the response (``UPDATED_NEW``: only the attributes the caller needs) and what the rotation set.

Same item, same conditions and the same stored attributes as ``GrantItem`` (``storage/models.py``): a contract
test rotates through this path and reads the grant back through the model.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import settings
from chalicelib.core.entities import Grant
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import ClientId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import hot_path_client
from chalicelib.storage.errors import CONDITION_FAILED
from chalicelib.storage.models import ROTATION_HISTORY

GRANT_SK = "GRANT"
# The grant attributes a rotation does not change but its caller needs are SET to themselves, so that
# ReturnValues=UPDATED_NEW returns them and only them: a third of ALL_NEW's attributes (no history slots, index keys
# or digests), which is most of botocore's response parsing.
KEPT = {
    "#tid": "tenant_id",
    "#u": "user_id",
    "#sc": "scope",
    "#sid": "session_id",
    "#at": "auth_time",
    "#acr": "acr",
    "#amr": "amr",
    "#cl": "claims",
    "#cr": "created_at",
    "#e": "expires_at",
}
UPDATE = "SET #cd = :new, #pd = :presented, #ra = :now, #g = :next, #slot = :presented, " + ", ".join(
    f"{name} = {name}" for name in KEPT
)
CONDITION = "#cd = :presented AND #g = :gen AND #rv = :zero AND #c = :client AND #e > :now"
_NAMES = {
    "#cd": "current_digest",
    "#pd": "previous_digest",
    "#ra": "rotated_at",
    "#g": "generation",
    "#rv": "revoked_at",
    "#c": "client_id",
    **KEPT,
}
# One ExpressionAttributeNames map per history slot, built once.
NAMES_BY_SLOT = [{**_NAMES, "#slot": f"h{slot}"} for slot in range(ROTATION_HISTORY)]
ZERO = {"N": "0"}


def rotate_grant(
    tenant_id: TenantId,
    grant_id: str,
    *,
    generation: int,
    presented_digest: str,
    new_digest: str,
    client_id: ClientId,
    now: int,
) -> Grant | None:
    """Rotate if the presented digest is the grant's current one (grant live, of this client, this generation);
    the rotated grant, or None when the condition failed."""
    presented = {"S": presented_digest}
    try:
        response = hot_path_client().update_item(
            TableName=settings().main_table,
            Key={"PK": {"S": keys.grant(tenant_id, grant_id)}, "SK": {"S": GRANT_SK}},
            UpdateExpression=UPDATE,
            ConditionExpression=CONDITION,
            ExpressionAttributeNames=NAMES_BY_SLOT[generation % ROTATION_HISTORY],
            ExpressionAttributeValues={
                ":new": {"S": new_digest},
                ":presented": presented,
                ":now": {"N": str(now)},
                ":next": {"N": str(generation + 1)},
                ":gen": {"N": str(generation)},
                ":zero": ZERO,
                ":client": {"S": client_id},
            },
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == CONDITION_FAILED:
            return None
        raise DependencyUnavailable(detail=f"dynamodb rotate_grant: {error}") from error
    except BotoCoreError as error:
        raise DependencyUnavailable(detail=f"dynamodb rotate_grant: {error}") from error
    attributes = response.get("Attributes") or {}
    if any(name not in attributes for name in KEPT.values()):  # never expected; then read the grant instead
        return grant_after_rotation(tenant_id, grant_id)
    rotated = {
        **attributes,
        "grant_id": {"S": grant_id},
        "client_id": {"S": client_id},
        "current_digest": {"S": new_digest},
        "previous_digest": presented,
        "rotated_at": {"N": str(now)},
        "generation": {"N": str(generation + 1)},
        "revoked_at": ZERO,
    }
    return grant_of(rotated)


def grant_after_rotation(tenant_id: TenantId, grant_id: str) -> Grant:
    try:
        item = hot_path_client().get_item(
            TableName=settings().main_table,
            Key={"PK": {"S": keys.grant(tenant_id, grant_id)}, "SK": {"S": GRANT_SK}},
            ConsistentRead=True,
        )
    except (ClientError, BotoCoreError) as error:
        raise DependencyUnavailable(detail=f"dynamodb grant_after_rotation: {error}") from error
    return grant_of(item["Item"])


def _text(attributes: dict[str, Any], name: str) -> str:
    value = attributes.get(name)
    return str(value["S"]) if value and "S" in value else ""


def _number(attributes: dict[str, Any], name: str) -> int:
    value = attributes.get(name)
    return int(value["N"]) if value and "N" in value else 0


def grant_of(attributes: dict[str, Any]) -> Grant:
    """A live grant from its raw DynamoDB attributes (the rotated item: never a tombstone, the condition saw to
    that). JSON attributes are stored as JSON strings, as PynamoDB's ``JSONAttribute`` writes them."""
    return Grant(
        tenant_id=TenantId(_text(attributes, "tenant_id")),
        grant_id=_text(attributes, "grant_id"),
        client_id=ClientId(_text(attributes, "client_id")),
        user_id=UserId(_text(attributes, "user_id")),
        scope=tuple(json.loads(_text(attributes, "scope") or "[]")),
        session_id=_text(attributes, "session_id"),
        auth_time=_number(attributes, "auth_time"),
        acr=_text(attributes, "acr"),
        amr=tuple(json.loads(_text(attributes, "amr") or "[]")),
        claims=dict(json.loads(_text(attributes, "claims") or "{}")),
        created_at=_number(attributes, "created_at"),
        expires_at=_number(attributes, "expires_at"),
        current_digest=_text(attributes, "current_digest") or None,
        previous_digest=_text(attributes, "previous_digest") or None,
        rotated_at=_number(attributes, "rotated_at"),
        revoked_at=_number(attributes, "revoked_at"),
        generation=_number(attributes, "generation"),
    )
