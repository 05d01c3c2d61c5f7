"""The ways into an account: its password (email login) and the upstream identities linked to it (social and
enterprise identity providers, recorded by federation). Unlinking one is refused when it is the last way in."""

from __future__ import annotations

from typing import Any

from chalicelib.core.entities import User
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import AccountDataRepository, CredentialRepository, FederatedIdentityRepository


class LinkedIdentityService:
    def __init__(
        self,
        identities: FederatedIdentityRepository,
        data: AccountDataRepository,
        credentials: CredentialRepository,
    ) -> None:
        self._identities = identities
        self._data = data
        self._credentials = credentials

    def has_password(self, tenant_id: TenantId, user: User) -> bool:
        """Whether the account has a password of its own (else it signs in only through linked providers)."""
        login = self._credentials.get_password_login(tenant_id, user.email)
        return bool(login and login.user_id == user.user_id and login.password_hash)

    def list(self, tenant_id: TenantId, user: User) -> list[dict[str, Any]]:
        ways: list[dict[str, Any]] = []
        if self.has_password(tenant_id, user):
            ways.append({"type": "password", "identifier": user.email})
        for identity in sorted(self._identities.list_for_user(tenant_id, user.user_id), key=lambda i: i.created_at):
            ways.append(
                {
                    "type": "federated",
                    "integration": identity.integration,
                    "subject": identity.subject,
                    "linked_at": identity.created_at,
                    "last_used_at": identity.last_login_at or None,
                }
            )
        return ways

    def unlink(self, tenant_id: TenantId, user: User, integration: str) -> None:
        """Remove the link to ``integration``; Conflict when no other way in would remain."""
        linked = self._identities.list_for_user(tenant_id, user.user_id)
        target = next((i for i in linked if i.integration == integration), None)
        if target is None:
            raise NotFound("Unknown linked identity.")
        if len(linked) - 1 + (1 if self.has_password(tenant_id, user) else 0) < 1:
            raise Conflict(
                "This is your only way to sign in. Set a password or link another account first.",
                detail="last way in",
            )
        if not self._data.unlink_identity(tenant_id, user.user_id, integration, target.subject):
            raise NotFound("Unknown linked identity.")
