"""One integration's SP as pysaml2 sees it: entity ID, ACS, key files and the IdP's metadata.

pysaml2 and xmlsec1 read keys from files, so the decrypted SP key is written to a private temporary directory
(mode 0700) for the duration of one operation and removed afterwards; it is never kept on disk.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib import container
from chalicelib.core.saml import CLOCK_SKEW_SECONDS, SamlIntegrationConfig
from chalicelib.services.saml_sp import SpKeyPair
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import SamlError

# Lambda layers put binaries under /opt/bin; Debian under /usr/bin.
XMLSEC_PATHS = ("/opt/bin", "/usr/bin", "/usr/local/bin")
SIGNING_USE = ("signing", None)


def sp_entity_id(integration: SamlIntegrationConfig) -> str:
    return f"{issuer_url(integration.tenant_id)}/saml/{integration.name}/metadata"


def acs_url(integration: SamlIntegrationConfig) -> str:
    return f"{issuer_url(integration.tenant_id)}/saml/{integration.name}/acs"


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1") or next(
        (f"{p}/xmlsec1" for p in XMLSEC_PATHS if os.access(f"{p}/xmlsec1", os.X_OK)), None
    )
    if found is None:
        raise SamlError("unavailable", "xmlsec1 is not installed", status=503)
    return found


def sp_keys(integration: SamlIntegrationConfig) -> SpKeyPair:
    return container.saml_sp().key_pair(
        integration.tenant_id, integration.name, common_name=f"{integration.tenant_id} {integration.name} SAML SP"
    )


@dataclass(frozen=True)
class SpFiles:
    """Paths of the key material written for one operation."""

    directory: str
    key_file: str
    cert_file: str

    def write(self, name: str, content: str) -> str:
        path = os.path.join(self.directory, name)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(content)
        return path


@contextmanager
def sp_files(keys: SpKeyPair) -> Iterator[SpFiles]:
    with tempfile.TemporaryDirectory(prefix="gh-saml-") as directory:
        os.chmod(directory, 0o700)
        files = SpFiles(directory, os.path.join(directory, "sp.key"), os.path.join(directory, "sp.crt"))
        files.write("sp.key", keys.private_key_pem)
        files.write("sp.crt", keys.certificate_pem)
        yield files


def client_config(
    integration: SamlIntegrationConfig, files: SpFiles, *, want_assertions_signed: bool = False
) -> dict[str, Any]:
    """pysaml2 SP configuration. ``want_assertions_signed`` is what metadata advertises; validation accepts a
    signature over the Response or the Assertion (``want_assertions_or_response_signed``)."""
    from saml2 import BINDING_HTTP_POST
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    return {
        "entityid": sp_entity_id(integration),
        "xmlsec_binary": xmlsec_binary(),
        "metadata": {"inline": [integration.idp_metadata_xml]},
        "key_file": files.key_file,
        "cert_file": files.cert_file,
        "encryption_keypairs": [{"key_file": files.key_file, "cert_file": files.cert_file}],
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        "only_use_keys_in_metadata": True,
        "allow_unknown_attributes": True,
        "delete_tmpfiles": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url(integration), BINDING_HTTP_POST)]},
                "allow_unsolicited": integration.allow_unsolicited,
                "authn_requests_signed": True,
                "want_assertions_signed": want_assertions_signed,
                "want_response_signed": False,
                "want_assertions_or_response_signed": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }


@functools.cache
def tune_pysaml2() -> None:
    """Two per-call costs of pysaml2, paid once per process instead (measured 0.9 s -> 0.2 s per ACS request).

    pysaml2 reloads the SP private key for every client it builds, and cryptography's RSA consistency check costs
    100-300 ms each time. The only private keys pysaml2 loads here are our own SP keys (private keys never come
    from the network), so each is checked on its first load in the process and loaded unchecked afterwards.
    It also runs ``xmlsec1 --version`` before every xmlsec1 call; the binary does not change while we run.
    """
    from cryptography.hazmat.primitives import serialization
    from saml2.cryptography import asymmetric
    from saml2.sigver import CryptoBackendXmlSec1

    read_version = CryptoBackendXmlSec1.version.fget

    @functools.cache
    def xmlsec_version(binary: str) -> Any:
        return read_version(types.SimpleNamespace(xmlsec=binary))

    CryptoBackendXmlSec1.version = property(lambda backend: xmlsec_version(backend.xmlsec))

    checked: set[bytes] = set()

    def load_pem_private_key(data: bytes, password: bytes | None = None) -> Any:
        digest = hashlib.sha256(data).digest()
        if digest in checked:
            return serialization.load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
        key = serialization.load_pem_private_key(data, password)
        checked.add(digest)
        return key

    asymmetric.load_pem_private_key = load_pem_private_key


def build_client(integration: SamlIntegrationConfig, files: SpFiles) -> Any:
    """A pysaml2 ``Saml2Client`` for the integration; its IdP metadata must describe exactly one IdP."""
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    tune_pysaml2()
    config = SPConfig()
    try:
        config.load(client_config(integration, files))
    except Exception as error:
        raise SamlError("idp_metadata_invalid", f"{type(error).__name__}: {error}", status=500) from error
    client = Saml2Client(config=config)
    idp_entity_id(client)
    return client


def idp_entity_id(client: Any) -> str:
    providers = list(client.metadata.identity_providers())
    if len(providers) != 1:
        raise SamlError("idp_metadata_invalid", f"{len(providers)} IdPs in the integration's metadata", status=500)
    return str(providers[0])


def idp_signing_certificates(client: Any, entity_id: str) -> list[str]:
    """PEM certificates the IdP's metadata lists for signing (several during a key rollover)."""
    from saml2.sigver import pem_format

    certificates = client.metadata.certs(entity_id, "idpsso", "signing")
    pems = [
        pem_format(cert).decode("ascii") if isinstance(pem_format(cert), bytes) else pem_format(cert)
        for _, cert in certificates
    ]
    if not pems:
        raise SamlError("idp_metadata_invalid", "no IdP signing certificate in the metadata", status=500)
    return list(dict.fromkeys(pems))
