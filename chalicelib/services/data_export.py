"""Personal data export (right of access and portability): a JSON file of everything stored about the user.

Requesting one creates the export record and starts the ``data_export`` workflow (input: ids only). Its tasks
build the file (gzip-compressed JSON, envelope-encrypted under the service KMS key with the tenant, user and export
as encryption context, stored in chunks in the user's partition, so the erasure of the account removes it too),
then email a download link. The link is ``<export id>.<secret>`` (only the secret's digest is stored), works once,
expires after ``privacy.export_link_seconds``, and only for its owner: the download endpoint looks the export up in
the signed-in user's own partition.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from typing import Any

from chalicelib.core import clock
from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import DataExport, User
from chalicelib.core.errors import CodeInvalid, NotFound, RateLimited
from chalicelib.core.ids import TenantId, UserId, new_id, new_secret
from chalicelib.core.ports import (
    AccountDataRepository,
    AuthorizationRepository,
    ConsentRepository,
    CredentialRepository,
    GrantRepository,
    KeyEncryption,
    UserRepository,
    WorkflowEngine,
)
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import AuditService
from chalicelib.services.emails import Mailer
from chalicelib.services.tokens import issuer_url

WORKFLOW = "data_export"
FORMAT = "gatehouse-personal-data-export/1"
CHUNK = 300 * 1024  # below DynamoDB's 400 KB item limit after encryption overhead
REQUEST_COOLDOWN = 300  # one export per user in this many seconds
EXPORT_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


def parse_export_token(token: object) -> tuple[str, str] | None:
    """(export id, digest of the secret) of ``<export id>.<secret>``, or None."""
    if not isinstance(token, str) or len(token) > 100:
        return None
    export_id, _, secret = token.partition(".")
    if not EXPORT_ID.match(export_id) or not SECRET.match(secret):
        return None
    return export_id, secret_digest(secret)


def export_view(export: DataExport) -> dict[str, Any]:
    return {
        "id": export.export_id,
        "status": "downloaded" if export.downloaded_at else export.status,
        "requested_at": export.requested_at,
        "expires_at": export.expires_at,
        "size": export.size,
    }


class DataExportService:
    def __init__(
        self,
        data: AccountDataRepository,
        users: UserRepository,
        credentials: CredentialRepository,
        sessions: AuthorizationRepository,
        grants: GrantRepository,
        consents: ConsentRepository,
        audit: AuditService,
        encryption: KeyEncryption,
        workflows: WorkflowEngine,
        mailer: Mailer,
        settings_of: Callable[[TenantId, User], EffectiveSettings],
    ) -> None:
        self._data = data
        self._users = users
        self._credentials = credentials
        self._sessions = sessions
        self._grants = grants
        self._consents = consents
        self._audit = audit
        self._encryption = encryption
        self._workflows = workflows
        self._mailer = mailer
        self._settings_of = settings_of

    def request(self, tenant_id: TenantId, user: User) -> DataExport:
        """Create the export and start its workflow; RateLimited while a recent one is still being built."""
        now = clock.now()
        recent = [
            e for e in self._data.list_exports(tenant_id, user.user_id) if now - e.requested_at < REQUEST_COOLDOWN
        ]
        if recent:
            raise RateLimited("An export was requested a moment ago; check your email.", retry_after=REQUEST_COOLDOWN)
        export = DataExport(
            tenant_id=tenant_id,
            user_id=user.user_id,
            export_id=new_id(16),
            status="pending",
            requested_at=now,
            expires_at=now + 7 * 86400,
        )
        self._data.create_export(export)
        self._workflows.start(
            WORKFLOW,
            name=f"export-{export.export_id}",
            payload={"tenant_id": tenant_id, "user_id": user.user_id, "export_id": export.export_id},
        )
        return export

    def list(self, tenant_id: TenantId, user_id: UserId) -> list[DataExport]:
        return sorted(self._data.list_exports(tenant_id, user_id), key=lambda e: e.requested_at, reverse=True)

    # --- workflow tasks ----------------------------------------------------------------------------------------

    def build(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> int:
        """Collect, compress, encrypt and store the file; returns its size in bytes (uncompressed JSON)."""
        user = self._users.get(tenant_id, user_id)
        export = self._data.get_export(tenant_id, user_id, export_id)
        if user is None or export is None:
            raise NotFound("The account or the export no longer exists.")
        document = json.dumps(self.collect(tenant_id, user), indent=2, sort_keys=True).encode()
        blob = self._encryption.encrypt(gzip.compress(document), self._context(tenant_id, user_id, export_id))
        parts = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)] or [b""]
        seconds = int(self._settings_of(tenant_id, user).get("privacy", "export_link_seconds"))
        self._data.store_export_file(
            tenant_id, user_id, export_id, parts=parts, size=len(document), expires_at=clock.now() + seconds
        )
        return len(document)

    def send_link(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> None:
        """A fresh single-use link (replacing any earlier one) by email to the account's address."""
        user = self._users.get(tenant_id, user_id)
        if user is None:
            raise NotFound("The account no longer exists.")
        seconds = int(self._settings_of(tenant_id, user).get("privacy", "export_link_seconds"))
        secret = new_secret()
        self._data.set_export_link(
            tenant_id, user_id, export_id, link_digest=secret_digest(secret), expires_at=clock.now() + seconds
        )
        self._mailer.send(
            "data_export_ready",
            tenant_id=tenant_id,
            node_id=user.tier_node_id,
            to=user.email,
            link=f"{issuer_url(tenant_id)}/account/exports/{export_id}?token={export_id}.{secret}",
            validity_seconds=seconds,
        )

    def mark_failed(self, tenant_id: TenantId, user_id: UserId, export_id: str) -> None:
        self._data.mark_export_failed(tenant_id, user_id, export_id)

    # --- download ----------------------------------------------------------------------------------------------

    def download(self, tenant_id: TenantId, user_id: UserId, export_id: str, token: str) -> bytes:
        """The JSON file, once; CodeInvalid for a wrong, used or expired link or an export of someone else."""
        parsed = parse_export_token(token)
        if parsed is None or parsed[0] != export_id:
            raise CodeInvalid("This download link is invalid, expired or was used.", detail="malformed export link")
        _, parts = self._data.consume_export(tenant_id, user_id, export_id, link_digest=parsed[1], now=clock.now())
        blob = self._encryption.decrypt(b"".join(parts), self._context(tenant_id, user_id, export_id))
        return gzip.decompress(blob)

    # --- content -----------------------------------------------------------------------------------------------

    def collect(self, tenant_id: TenantId, user: User) -> dict[str, Any]:
        """Everything stored about the user, as plain JSON values."""
        login = self._credentials.get_password_login(tenant_id, user.email)
        return {
            "format": FORMAT,
            "generated_at": clock.now(),
            "issuer": issuer_url(tenant_id),
            "profile": {
                "sub": user.user_id,
                "email": user.email,
                "email_verified": user.email_verified,
                "phone_number": user.phone_number,
                "phone_number_verified": user.phone_number_verified,
                "status": user.status,
                "attributes": user.profile,
                "external_id": user.external_id,
                "created_at": user.created_at,
                "updated_at": user.updated_at,
            },
            "identities": [
                {
                    "type": "password",
                    "identifier": user.email,
                    "has_password": bool(login and login.password_hash),
                }
            ],
            "consents": [
                {"client_id": c.client_id, "scopes": list(c.scopes), "granted_at": c.granted_at}
                for c in self._consents.list_for_user(tenant_id, user.user_id)
            ],
            "consent_receipts": [r.document for r in self._data.list_receipts(tenant_id, user.user_id)],
            "sessions": [
                {
                    "id": s.session_id,
                    "signed_in_at": s.auth_time,
                    "expires_at": s.expires_at,
                    "revoked_at": s.revoked_at or None,
                    "ip": s.ip,
                    "user_agent": s.user_agent,
                    "location": s.location,
                    "amr": list(s.amr),
                }
                for s in self._sessions.list_sessions(tenant_id, user.user_id)
            ],
            "grants": [
                {
                    "id": g.grant_id,
                    "client_id": g.client_id,
                    "scope": list(g.scope),
                    "created_at": g.created_at,
                    "last_refreshed_at": g.rotated_at or None,
                    "expires_at": g.expires_at,
                    "revoked_at": g.revoked_at or None,
                }
                for g in self._grants.list_for_user(tenant_id, user.user_id)
            ],
            "activity": [
                {
                    "event": e.action,
                    "outcome": e.outcome,
                    "at": e.occurred_at,
                    "ip": e.source_ip,
                    "user_agent": e.user_agent,
                    "details": e.details,
                }
                for e in self._audit.list_for_user(tenant_id, user.user_id, days=400, limit=5000)
            ],
        }

    @staticmethod
    def _context(tenant_id: TenantId, user_id: UserId, export_id: str) -> dict[str, str]:
        return {"tenant": tenant_id, "user": user_id, "export": export_id, "purpose": "data-export"}
