"""Accounts whose password the tier's policy now refuses, as if chosen before a stricter policy: no public path
lets anyone choose such a password any more, so tests plant it in the server's storage (the server runs in the
test process). Used by the native API's ``new_password_required`` and the hosted "Choose a new password" tests."""

from __future__ import annotations

import secrets
import uuid

OUTDATED_PASSWORD = "qwertyuiop"  # long enough, but among the most common passwords


def strong_password() -> str:
    return f"Harbor-{secrets.token_hex(3)}-violet-compass"


def create_user_with_outdated_password(tenant: str) -> str:
    """A new verified user of ``tenant`` (a slug) whose password is ``OUTDATED_PASSWORD``; returns the email."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(tenant)
    email = f"old-{uuid.uuid4().hex[:8]}@example.org"
    settings = container.tenants().effective(tenant_id)
    container.accounts().create_user(
        tenant_id, email=email, password=OUTDATED_PASSWORD, verified=True, settings=settings
    )
    return email


def make_password_outdated(tenant: str, email: str) -> None:
    """Replace the stored password of an existing account with ``OUTDATED_PASSWORD``."""
    from chalicelib.core.ids import TenantId
    from chalicelib.services.passwords import hash_password
    from chalicelib.storage.users_repository import DynamoCredentialRepository

    DynamoCredentialRepository().set_password_hash(TenantId(tenant), email, hash_password(OUTDATED_PASSWORD))
