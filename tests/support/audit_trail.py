"""Reading a tenant's audit trail the way its administrator does: ``GET /t/{tenant}/admin/audit`` with a
client-credentials token of a service client holding ``admin`` (created in-process, as an operator would)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

TIMEOUT = 15


@dataclass
class AuditTrail:
    base: str
    tenant: str
    client_id: str
    secret: str

    @classmethod
    def for_tenant(cls, base: str, tenant: str) -> AuditTrail:
        from chalicelib import container
        from chalicelib.core.ids import TenantId

        client_id = f"audit-{uuid.uuid4().hex[:8]}"
        _client, secret = container.clients().create(
            TenantId(tenant), name="Audit reader", client_type="service", scopes=["admin"], client_id=client_id
        )
        assert secret is not None
        return cls(base, tenant, client_id, secret)

    def token(self) -> str:
        response = requests.post(
            f"{self.base}/t/{self.tenant}/token",
            data={"grant_type": "client_credentials", "scope": "admin"},
            auth=(self.client_id, self.secret),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def page(self, **query: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.base}/t/{self.tenant}/admin/audit",
            params=query,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def events(self, **query: str) -> list[dict[str, Any]]:
        """Every matching event, newest first, following ``next_cursor`` page by page."""
        return [event for page in self.pages(**query) for event in page]

    def pages(self, **query: str) -> Iterator[list[dict[str, Any]]]:
        cursor: str | None = None
        while True:
            body = self.page(**query, **({"cursor": cursor} if cursor else {}))
            yield list(body["events"])
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def types(self, **query: str) -> list[str]:
        return [event["type"] for event in self.events(**query)]

    def one(self, kind: str, **query: str) -> dict[str, Any]:
        found = self.events(type=kind, **query)
        assert len(found) == 1, f"{kind}: {found}"
        return found[0]
