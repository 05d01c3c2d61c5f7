"""Per-tenant JWT signing keys: creation, envelope encryption, rotation, JWKS, and cached signers/verifiers.

Each tenant has one active key per algorithm (RS256 and ES256). Private keys are generated here, encrypted
under the service KMS key (envelope) before storage, and decrypted once per process. Rotation adds a new active
key and keeps the old one published until every token it signed has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.config import settings as config
from chalicelib.core import clock
from chalicelib.core.entities import SigningKey
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import TenantId, new_id
from chalicelib.core.ports import KeyEncryption, SigningKeyRepository
from chalicelib.services.cache import TtlCache

SUPPORTED_ALGS = ("RS256", "ES256")
# Longest time a token signed by a retired key may still be presented (max token lifetime + clock skew).
DEFAULT_PUBLISH_SECONDS = 24 * 3600


@dataclass(frozen=True)
class KeySet:
    keys: tuple[SigningKey, ...]

    def active(self, alg: str) -> SigningKey | None:
        candidates = [k for k in self.keys if k.alg == alg and k.status == "active"]
        return max(candidates, key=lambda k: k.created_at) if candidates else None

    def published(self, now: int) -> list[SigningKey]:
        return [k for k in self.keys if k.status == "active" or k.publish_until > now]

    def by_kid(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)


def _generate(alg: str) -> tuple[bytes, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    private: Any
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, private.public_key()


def _public_jwk(alg: str, kid: str, public_key: Any) -> dict[str, Any]:
    from jose import jwk

    data = jwk.construct(public_key, alg).to_dict()
    data.update({"kid": kid, "use": "sig", "alg": alg})
    return {k: v for k, v in data.items() if k in ("kty", "kid", "use", "alg", "n", "e", "crv", "x", "y")}


class SigningKeyService:
    def __init__(self, repository: SigningKeyRepository, encryption: KeyEncryption) -> None:
        self._repository = repository
        self._encryption = encryption
        self._keysets: TtlCache[KeySet] = TtlCache(60)
        self._private: dict[tuple[str, str], Any] = {}  # (tenant, kid) -> jose key; private keys never expire here
        self._public: dict[tuple[str, str], Any] = {}

    def keyset(self, tenant_id: TenantId) -> KeySet:
        return self._keysets.get_or_load(tenant_id, lambda: KeySet(tuple(self._repository.list(tenant_id))))

    def ensure_keys(self, tenant_id: TenantId) -> list[str]:
        """Create any missing active key; returns the new kids."""
        keyset = KeySet(tuple(self._repository.list(tenant_id)))
        created = [self._create(tenant_id, alg) for alg in SUPPORTED_ALGS if keyset.active(alg) is None]
        self._keysets.invalidate(tenant_id)
        return created

    def rotate(self, tenant_id: TenantId, publish_seconds: int = DEFAULT_PUBLISH_SECONDS) -> dict[str, list[str]]:
        """New active key per algorithm; previous ones stay in the JWKS for ``publish_seconds``."""
        now = clock.now()
        old = [k for k in self._repository.list(tenant_id) if k.status == "active"]
        created = [self._create(tenant_id, alg) for alg in SUPPORTED_ALGS]
        for key in old:
            self._repository.retire(tenant_id, key.kid, retired_at=now, publish_until=now + publish_seconds)
        self._keysets.invalidate(tenant_id)
        return {"created": created, "retired": [k.kid for k in old]}

    def _create(self, tenant_id: TenantId, alg: str) -> str:
        kid = f"{alg.lower()}-{new_id(9)}"
        pem, public_key = _generate(alg)
        blob = self._encryption.encrypt(pem, self._context(tenant_id, kid))
        self._repository.add(
            SigningKey(
                tenant_id=tenant_id,
                kid=kid,
                alg=alg,
                status="active",
                public_jwk=_public_jwk(alg, kid, public_key),
                encrypted_private_key=blob,
                created_at=clock.now(),
            )
        )
        return kid

    @staticmethod
    def _context(tenant_id: TenantId, kid: str) -> dict[str, str]:
        return {"tenant": tenant_id, "purpose": "jwt-signing-key", "kid": kid}

    def jwks(self, tenant_id: TenantId) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.keyset(tenant_id).published(clock.now())]}

    def signer(self, tenant_id: TenantId, alg: str) -> tuple[str, Any]:
        """(kid, jose key) of the active private key for ``alg``."""
        key = self.keyset(tenant_id).active(alg)
        if key is None:
            raise NotFound(f"No active {alg} signing key for this tenant.")
        cache_key = (tenant_id, key.kid)
        private = self._private.get(cache_key)
        if private is None:
            from jose import jwk

            pem = self._encryption.decrypt(key.encrypted_private_key, self._context(tenant_id, key.kid))
            private = jwk.construct(pem, alg)
            self._private[cache_key] = private
        return key.kid, private

    def verifier(self, tenant_id: TenantId, kid: str) -> tuple[str, Any] | None:
        """(alg, jose public key) for a published kid, or None."""
        key = self.keyset(tenant_id).by_kid(kid)
        if key is None or not (key.status == "active" or key.publish_until > clock.now()):
            return None
        cache_key = (tenant_id, kid)
        public = self._public.get(cache_key)
        if public is None:
            from jose import jwk

            public = jwk.construct(key.public_jwk, key.alg)
            self._public[cache_key] = public
        return key.alg, public


__all__ = ["KeySet", "SigningKeyService", "config"]
