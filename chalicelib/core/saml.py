"""SAML 2.0 service-provider values: the SP key of an integration, issued requests, and the validated identity.

Stdlib only. The XML work lives in ``chalicelib.web.saml`` (the only package that imports pysaml2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.core.ids import TenantId

# Clock skew tolerated on NotBefore / NotOnOrAfter / IssueInstant (SAML core §1.3.3 leaves it to the relying party).
CLOCK_SKEW_SECONDS = 120
# How long an AuthnRequest stays answerable: the user may need to sign in (and do MFA) at the IdP.
REQUEST_SECONDS = 15 * 60
# An assertion is accepted at most this long after its IssueInstant, whatever its own NotOnOrAfter says.
MAX_ASSERTION_AGE_SECONDS = 15 * 60


@dataclass(frozen=True)
class SamlSpKey:
    """The per-integration SP signing/encryption key pair: a self-signed certificate and the encrypted private key."""

    tenant_id: TenantId
    integration: str
    certificate_pem: str
    encrypted_private_key: bytes
    created_at: int


@dataclass(frozen=True)
class SamlRequest:
    """An AuthnRequest we sent, bound to the pending authorization flow (``flow``: the validated OIDC request)."""

    tenant_id: TenantId
    integration: str
    request_id: str
    flow: dict[str, Any]
    expires_at: int


@dataclass(frozen=True)
class SamlAttributeMapping:
    """Which SAML attributes (by Name or FriendlyName) fill the normalized identity; empty means the defaults."""

    email: tuple[str, ...] = ()
    given_name: tuple[str, ...] = ()
    family_name: tuple[str, ...] = ()
    name: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # Use the NameID as the email when it has the emailAddress format and no email attribute is present.
    email_from_name_id: bool = True


@dataclass(frozen=True)
class SamlIntegrationConfig:
    """What the SP needs to know about one SAML IdP integration of a tenant."""

    tenant_id: TenantId
    name: str
    idp_metadata_xml: str
    allow_unsolicited: bool = False
    mapping: SamlAttributeMapping = field(default_factory=SamlAttributeMapping)


@dataclass(frozen=True)
class SamlIdentity:
    """The identity read from the signed part of a validated assertion (never from anything else)."""

    issuer: str
    subject: str
    name_id_format: str
    assertion_id: str
    in_response_to: str | None
    session_index: str | None
    email: str | None
    given_name: str | None
    family_name: str | None
    name: str | None
    groups: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    authn_instant: int | None
    authn_context: str | None
