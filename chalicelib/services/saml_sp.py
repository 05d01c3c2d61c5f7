"""SAML 2.0 SP state: per-integration key pairs, issued AuthnRequests and the assertion replay cache.

Each integration gets its own RSA key pair and self-signed certificate (signing AuthnRequests, decrypting
assertions). The private key is generated here, envelope-encrypted under the service KMS key before it is stored,
and decrypted once per process. XML is not this module's business (see ``chalicelib.web.saml``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import AlreadyExists, InvalidInput
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import KeyEncryption, SamlRepository
from chalicelib.core.saml import CLOCK_SKEW_SECONDS, REQUEST_SECONDS, SamlRequest, SamlSpKey

CERTIFICATE_YEARS = 10
RSA_BITS = 3072
INTEGRATION_NAME_MAX = 64


@dataclass(frozen=True)
class SpKeyPair:
    """Decrypted key material, for the SAML adapter only (never logged, never returned to a client)."""

    certificate_pem: str
    private_key_pem: str


def generate_key_pair(common_name: str) -> tuple[str, str]:
    """(private key PEM, self-signed certificate PEM): RSA 3072, SHA-256 signature, 10 years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def check_integration_name(name: str) -> str:
    if (
        not name
        or len(name) > INTEGRATION_NAME_MAX
        or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    ):
        raise InvalidInput("Unknown identity provider.", fields={"idp": "invalid"})
    return name


class SamlSpService:
    def __init__(self, repository: SamlRepository, encryption: KeyEncryption) -> None:
        self._repository = repository
        self._encryption = encryption
        self._keys: dict[tuple[str, str], SpKeyPair] = {}

    def key_pair(self, tenant_id: TenantId, integration: str, *, common_name: str) -> SpKeyPair:
        """The integration's SP key pair, created on first use (a concurrent creator's key wins)."""
        check_integration_name(integration)
        cached = self._keys.get((tenant_id, integration))
        if cached is not None:
            return cached
        stored = self._repository.get_sp_key(tenant_id, integration)
        if stored is None:
            stored = self._create(tenant_id, integration, common_name)
        pem = self._encryption.decrypt(stored.encrypted_private_key, self._context(tenant_id, integration))
        pair = SpKeyPair(certificate_pem=stored.certificate_pem, private_key_pem=pem.decode("ascii"))
        self._keys[(tenant_id, integration)] = pair
        return pair

    def _create(self, tenant_id: TenantId, integration: str, common_name: str) -> SamlSpKey:
        key_pem, certificate_pem = generate_key_pair(common_name)
        blob = self._encryption.encrypt(key_pem.encode("ascii"), self._context(tenant_id, integration))
        key = SamlSpKey(tenant_id, integration, certificate_pem, blob, clock.now())
        try:
            self._repository.add_sp_key(key)
        except AlreadyExists:
            existing = self._repository.get_sp_key(tenant_id, integration)
            if existing is None:
                raise
            return existing
        return key

    @staticmethod
    def _context(tenant_id: TenantId, integration: str) -> dict[str, str]:
        return {"tenant": tenant_id, "purpose": "saml-sp-key", "kid": integration}

    def remember_request(
        self, tenant_id: TenantId, integration: str, request_id: str, flow: dict[str, Any]
    ) -> SamlRequest:
        """Record an AuthnRequest we are about to send, bound to the pending authorization flow."""
        request = SamlRequest(tenant_id, integration, request_id, flow, clock.now() + REQUEST_SECONDS)
        self._repository.save_request(request)
        return request

    def consume_request(self, tenant_id: TenantId, integration: str, request_id: str) -> SamlRequest:
        """The flow bound to ``request_id``; raises CodeInvalid unless issued by us, unexpired and unanswered."""
        return self._repository.consume_request(tenant_id, integration, request_id, now=clock.now())

    def remember_assertion(self, tenant_id: TenantId, issuer: str, assertion_id: str, *, valid_until: int) -> None:
        """Replay cache: raises CodeInvalid if this IdP's assertion ID was accepted before."""
        expires_at = max(valid_until, clock.now()) + CLOCK_SKEW_SECONDS
        self._repository.remember_assertion(tenant_id, issuer, assertion_id, expires_at=expires_at)
