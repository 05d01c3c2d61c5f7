"""Validation of identity-provider integration documents (admin API bodies, CLI arguments).

A document is a JSON object: ``name``, ``kind`` (``saml`` | ``oidc``), ``display_name``, ``enabled``,
``domains`` (home-realm discovery), ``attribute_mapping`` ({our field: upstream attribute}), ``role_mapping``
({upstream group: [role names]}), ``linking`` (``verified_email`` | ``sign_in`` | ``none``), and one of
``saml`` ({``metadata``: IdP metadata XML, ``allow_unsolicited``}) or ``oidc`` ({``issuer``, ``client_id``,
``client_secret``, ``scopes``, ``preset``: ``google`` | ``microsoft``}). Every check raises InvalidInput with
the offending field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core.errors import InvalidInput
from chalicelib.core.federation import LINKING_POLICIES, MAPPED_FIELDS

NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")
MAX_METADATA_BYTES = 200 * 1024  # checked before parsing; DynamoDB items hold at most 400 KB
MAX_DOMAINS = 50
MAX_ROLE_MAPPINGS = 100
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MICROSOFT_CONSUMERS = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
PRESETS: dict[str, dict[str, Any]] = {
    "google": {
        "issuer": "https://accounts.google.com",
        "display_name": "Google",
        "scopes": ["openid", "email", "profile"],
    },
    # A Microsoft Entra tenant's issuer is https://login.microsoftonline.com/<tenant id>/v2.0; the default is the
    # personal-accounts tenant. Entra ID tokens carry ``email`` only when configured; ``preferred_username`` is
    # the sign-in name.
    "microsoft": {
        "issuer": MICROSOFT_CONSUMERS,
        "display_name": "Microsoft",
        "scopes": ["openid", "email", "profile"],
        "attribute_mapping": {"email": "email", "name": "name"},
    },
}


def _fail(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, fields={field: code})


RESERVED_NAMES = frozenset({"logins"})  # /t/{tenant}/federation/logins/{id} is the continue page


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name) or name in RESERVED_NAMES:
        raise _fail("name", "A name is 1-63 lowercase letters, digits or hyphens (it appears in URLs).")
    return name


def check_display_name(value: object, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > 100 or any(ord(c) < 0x20 for c in value):
        raise _fail("display_name", "display_name is 1-100 printable characters.")
    return value.strip()


def check_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(field, f"{field} must be true or false.")
    return value


def check_domains(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) > MAX_DOMAINS:
        raise _fail("domains", f"domains is a list of at most {MAX_DOMAINS} email domains.")
    domains = []
    for domain in value:
        if not isinstance(domain, str) or not DOMAIN.match(domain.strip().lower()):
            raise _fail("domains", f"'{str(domain)[:64]}' is not an email domain.")
        domains.append(domain.strip().lower())
    return tuple(dict.fromkeys(domains))


def check_attribute_mapping(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _fail("attribute_mapping", "attribute_mapping maps our fields to upstream attribute names.")
    mapping: dict[str, str] = {}
    for target, source in value.items():
        if target not in MAPPED_FIELDS:
            raise _fail("attribute_mapping", f"Only {', '.join(MAPPED_FIELDS)} can be mapped.")
        if not isinstance(source, str) or not source or len(source) > 256:
            raise _fail("attribute_mapping", f"The source of '{target}' must be an attribute name.")
        mapping[target] = source
    return mapping


def check_role_mapping(value: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping) or len(value) > MAX_ROLE_MAPPINGS:
        raise _fail("role_mapping", f"role_mapping maps at most {MAX_ROLE_MAPPINGS} groups to lists of role names.")
    mapping: dict[str, tuple[str, ...]] = {}
    for group, roles in value.items():
        if not isinstance(group, str) or not group or len(group) > 256:
            raise _fail("role_mapping", "Group names are 1-256 characters.")
        if not isinstance(roles, list | tuple) or not roles or len(roles) > 20:
            raise _fail("role_mapping", f"'{group[:64]}' must map to a list of 1-20 role names.")
        if not all(isinstance(r, str) and ROLE.match(r) for r in roles):
            raise _fail("role_mapping", "Role names are 1-64 letters, digits, '_', '.', ':' or '-'.")
        mapping[group] = tuple(dict.fromkeys(roles))
    return mapping


def check_linking(value: object) -> str:
    if value not in LINKING_POLICIES:
        raise _fail("linking", f"linking must be one of {', '.join(LINKING_POLICIES)}.")
    return str(value)


def check_metadata(value: object) -> tuple[str, str]:
    """(metadata XML, IdP entity ID). Size-limited before parsing; parsed without DTDs or entity expansion."""
    if not isinstance(value, str) or not value.strip():
        raise _fail("metadata", "The IdP metadata XML is required.", "required")
    if len(value.encode("utf-8")) > MAX_METADATA_BYTES:
        raise _fail("metadata", f"The IdP metadata is larger than {MAX_METADATA_BYTES // 1024} KiB.", "too_large")
    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import ParseError, fromstring  # type: ignore[import-untyped]

    try:
        root = fromstring(value.encode("utf-8"), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise _fail("metadata", "The IdP metadata is not well-formed XML (DTDs and entities are refused).") from error
    if root.tag != f"{{{MD_NS}}}EntityDescriptor":
        raise _fail("metadata", "The IdP metadata must be a SAML 2.0 md:EntityDescriptor.")
    entity_id = root.get("entityID") or ""
    if not entity_id or len(entity_id) > 1024:
        raise _fail("metadata", "The IdP metadata has no entityID.")
    if root.find(f"{{{MD_NS}}}IDPSSODescriptor") is None:
        raise _fail("metadata", "The metadata describes no identity provider (md:IDPSSODescriptor).")
    return value, entity_id


def check_issuer(value: object) -> str:
    """An https URL without query or fragment (http only on loopback, for local providers)."""
    if not isinstance(value, str) or len(value) > 512:
        raise _fail("issuer", "issuer must be an https URL.")
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
    if not secure or not parts.netloc or parts.query or parts.fragment or any(c.isspace() for c in value):
        raise _fail("issuer", "issuer must be an https URL without query or fragment.")
    return value  # compared exactly with the discovery document's and the ID token's ``iss``


def check_client_id(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 256 or any(c.isspace() for c in value):
        raise _fail("client_id", "client_id is required (at most 256 characters, no spaces).", "required")
    return value


def check_client_secret(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise _fail("client_secret", "client_secret is required (at most 1024 characters).", "required")
    return value


def check_oidc_scopes(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 20:
        raise _fail("scopes", "scopes is a list of 1-20 scope names including openid.")
    if not all(isinstance(s, str) and SCOPE.match(s) for s in value) or "openid" not in value:
        raise _fail("scopes", "scopes must be valid scope names and include openid.")
    return tuple(dict.fromkeys(value))


def check_preset(value: object) -> str | None:
    if value is None:
        return None
    if value not in PRESETS:
        raise _fail("preset", f"preset must be one of {', '.join(PRESETS)}.")
    return str(value)
