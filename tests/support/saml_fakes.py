"""In-memory SAML SP state and a local key wrapper, with the same contracts as the DynamoDB/KMS adapters."""

from __future__ import annotations

import json
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.ids import TenantId
from chalicelib.core.saml import SamlRequest, SamlSpKey


class MemorySaml:
    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], SamlSpKey] = {}
        self.requests: dict[tuple[str, str, str], tuple[SamlRequest, bool]] = {}
        self.assertions: dict[tuple[str, str, str], int] = {}

    def get_sp_key(self, tenant_id: TenantId, integration: str) -> SamlSpKey | None:
        return self.keys.get((tenant_id, integration))

    def add_sp_key(self, key: SamlSpKey) -> None:
        if (key.tenant_id, key.integration) in self.keys:
            raise AlreadyExists("exists")
        self.keys[(key.tenant_id, key.integration)] = key

    def save_request(self, request: SamlRequest) -> None:
        self.requests[(request.tenant_id, request.integration, request.request_id)] = (request, False)

    def consume_request(self, tenant_id: TenantId, integration: str, request_id: str, *, now: int) -> SamlRequest:
        found = self.requests.get((tenant_id, integration, request_id))
        if found is None or found[1] or found[0].expires_at <= now:
            raise CodeInvalid(detail="unknown, expired or answered")
        self.requests[(tenant_id, integration, request_id)] = (found[0], True)
        return found[0]

    def remember_assertion(self, tenant_id: TenantId, issuer: str, assertion_id: str, *, expires_at: int) -> None:
        if (tenant_id, issuer, assertion_id) in self.assertions:
            raise CodeInvalid(detail="replayed")
        self.assertions[(tenant_id, issuer, assertion_id)] = expires_at


class LocalEncryption:
    """AES-GCM under a process key, the context as associated data (what the KMS envelope guarantees)."""

    def __init__(self) -> None:
        self._key = AESGCM.generate_key(bit_length=256)

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + AESGCM(self._key).encrypt(nonce, plaintext, json.dumps(context, sort_keys=True).encode())

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        return AESGCM(self._key).decrypt(blob[:12], blob[12:], json.dumps(context, sort_keys=True).encode())
