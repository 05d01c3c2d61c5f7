"""Typed identifiers and secure random values (always from ``secrets``)."""

from __future__ import annotations

import secrets
import uuid
from typing import NewType

TenantId = NewType("TenantId", str)
NodeId = NewType("NodeId", str)
UserId = NewType("UserId", str)
ClientId = NewType("ClientId", str)

ROOT_NODE = NodeId("root")


def new_user_id() -> UserId:
    return UserId(str(uuid.uuid4()))


def new_id(nbytes: int = 16) -> str:
    """An unguessable, URL-safe identifier (128 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def new_secret() -> str:
    """A bearer secret: authorization codes, refresh tokens, client secrets (256 bits)."""
    return secrets.token_urlsafe(32)
