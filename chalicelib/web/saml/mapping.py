"""Attribute mapping: a validated assertion's NameID and attributes -> email, names and groups.

Each target is filled from the first attribute (matched by Name or FriendlyName) the integration lists for it, or
from well-known names (LDAP/eduPerson OIDs, the Microsoft claim URIs, plain names) when it lists none.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.core.saml import SamlAttributeMapping

NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
MAX_GROUPS = 200
MAX_VALUE = 256

DEFAULTS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "mail",
        "emailAddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ),
    "given_name": (
        "givenName",
        "given_name",
        "firstName",
        "urn:oid:2.5.4.42",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ),
    "family_name": (
        "sn",
        "surname",
        "family_name",
        "lastName",
        "urn:oid:2.5.4.4",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ),
    "name": (
        "displayName",
        "name",
        "cn",
        "urn:oid:2.16.840.1.113730.3.1.241",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    ),
    "groups": (
        "groups",
        "memberOf",
        "isMemberOf",
        "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    ),
}


def _values(attributes: Mapping[str, tuple[str, ...]], names: tuple[str, ...]) -> tuple[str, ...]:
    for name in names:
        values = attributes.get(name)
        if values:
            return values
    return ()


def _first(attributes: Mapping[str, tuple[str, ...]], names: tuple[str, ...]) -> str | None:
    values = [v.strip() for v in _values(attributes, names) if v.strip()]
    return values[0][:MAX_VALUE] if values else None


def map_identity(
    mapping: SamlAttributeMapping, name_id: str, name_id_format: str, attributes: Mapping[str, tuple[str, ...]]
) -> dict[str, object]:
    """``email``, ``given_name``, ``family_name``, ``name`` (str or None) and ``groups`` (tuple) for the identity."""
    email = _first(attributes, mapping.email or DEFAULTS["email"])
    if email is None and mapping.email_from_name_id and name_id_format == NAMEID_EMAIL:
        email = name_id
    if email is not None and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email)):
        email = None
    groups = tuple(
        dict.fromkeys(
            g.strip()[:MAX_VALUE] for g in _values(attributes, mapping.groups or DEFAULTS["groups"]) if g.strip()
        )
    )[:MAX_GROUPS]
    return {
        "email": email.lower() if email else None,
        "given_name": _first(attributes, mapping.given_name or DEFAULTS["given_name"]),
        "family_name": _first(attributes, mapping.family_name or DEFAULTS["family_name"]),
        "name": _first(attributes, mapping.name or DEFAULTS["name"]),
        "groups": groups,
    }
