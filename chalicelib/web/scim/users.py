"""The SCIM User resource (RFC 7643 §4.1) as Gatehouse stores it: representation, input parsing and the
filterable attributes.

Mapping: ``id`` = user id, ``userName`` = the account's email (also its one ``work`` email), ``active`` = not
disabled, ``externalId`` = the provisioning system's id, ``name.*``/``displayName``/``nickName``/``profileUrl``/
``locale``/``timezone`` = the OpenID Connect profile claims. ``password`` is write-only.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.core.entities import User
from chalicelib.services.provisioning import ProvisionedUser
from chalicelib.web.errors import ScimError
from chalicelib.web.scim.filters import FilterAttributes
from chalicelib.web.scim.patch import Attributes

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTERPRISE_STRINGS = ("employeeNumber", "costCenter", "organization", "division", "department")
MAX_ENTERPRISE_VALUE = 256

# SCIM name -> OpenID Connect profile claim.
NAME_CLAIMS = {"givenName": "given_name", "familyName": "family_name", "middleName": "middle_name"}
PROFILE_ATTRIBUTES = {"displayName": "name", "nickName": "nickname", "profileUrl": "profile", "locale": "locale"}
PROFILE_ATTRIBUTES["timezone"] = "zoneinfo"

USER_FILTERS = FilterAttributes(
    USER_SCHEMA,
    {
        path.lower(): (path, path in ("id", "externalId"))
        for path in (
            "id",
            "externalId",
            "userName",
            "active",
            "displayName",
            "nickName",
            "locale",
            "timezone",
            "name.givenName",
            "name.familyName",
            "name.middleName",
            "name.formatted",
            "emails.value",
            "emails.type",
            "emails.primary",
            "meta.created",
            "meta.lastModified",
        )
    }
    | {"emails": ("emails.value", False), "name": ("name.formatted", False)},
)


USER_ATTRIBUTES = Attributes(
    {
        "schemas": (),
        "id": (),
        "meta": (),
        "externalId": (),
        "userName": (),
        "name": ("givenName", "familyName", "middleName", "formatted"),
        "displayName": (),
        "nickName": (),
        "profileUrl": (),
        "locale": (),
        "timezone": (),
        "active": (),
        "password": (),
        "emails": ("value", "type", "primary", "display"),
    },
    multi_valued=("emails",),
    extensions={ENTERPRISE_SCHEMA: (*ENTERPRISE_STRINGS, "manager")},
)


def timestamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def to_scim_user(user: User, base_url: str) -> dict[str, Any]:
    name = {scim: user.profile[claim] for scim, claim in NAME_CLAIMS.items() if user.profile.get(claim)}
    formatted = " ".join(str(name[p]) for p in ("givenName", "middleName", "familyName") if p in name)
    if formatted:
        name["formatted"] = formatted
    resource: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": user.user_id}
    if user.external_id:
        resource["externalId"] = user.external_id
    resource["userName"] = user.email
    if name:
        resource["name"] = name
    for scim, claim in PROFILE_ATTRIBUTES.items():
        if user.profile.get(claim):
            resource[scim] = user.profile[claim]
    resource["active"] = user.status != "disabled"
    resource["emails"] = [{"value": user.email, "type": "work", "primary": True}]
    if user.enterprise:
        resource["schemas"] = [USER_SCHEMA, ENTERPRISE_SCHEMA]
        resource[ENTERPRISE_SCHEMA] = dict(user.enterprise)
    resource["meta"] = {
        "resourceType": "User",
        "created": timestamp(user.created_at),
        "lastModified": timestamp(user.updated_at),
        "location": f"{base_url}/Users/{user.user_id}",
    }
    return resource


def _string(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScimError(400, f"'{name}' must be a string.", "invalidValue")
    return value


def _boolean(value: Any) -> bool:
    """``active``; some provisioning clients (Entra ID) send "True"/"False" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, "'active' must be a boolean.", "invalidValue")


def _lowered(resource: dict[str, Any]) -> dict[str, Any]:
    """Attribute names are case-insensitive (RFC 7643 §2.1); URN-qualified core names are accepted too."""
    prefix = USER_SCHEMA.lower() + ":"
    lowered: dict[str, Any] = {}
    for key, value in resource.items():
        name = key.lower()
        lowered[name[len(prefix) :] if name.startswith(prefix) else name] = value
    return lowered


def parse_user(resource: Any) -> tuple[ProvisionedUser, str | None]:
    """A User resource from a POST or PUT body (or a patched representation) -> (what we store, password)."""
    if not isinstance(resource, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    schemas = resource.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or USER_SCHEMA not in schemas):
        raise ScimError(400, f"'schemas' must contain {USER_SCHEMA}.", "invalidSyntax")
    data = _lowered(resource)
    enterprise = parse_enterprise(data.get(ENTERPRISE_SCHEMA.lower()))
    user_name = _string(data.get("username"), "userName", required=True) or ""
    emails = data.get("emails")
    if emails is not None:
        if not isinstance(emails, list) or not all(isinstance(e, dict) for e in emails):
            raise ScimError(400, "'emails' must be a list of objects.", "invalidValue")
        primary = [e for e in emails if e.get("primary") is True] or emails[:1]
        value = primary[0].get("value") if primary else None
        if value is not None and (not isinstance(value, str) or value.strip().lower() != user_name.strip().lower()):
            raise ScimError(400, "The primary email must be the userName.", "invalidValue")
    profile: dict[str, Any] = {}
    name = data.get("name") or {}
    if not isinstance(name, dict):
        raise ScimError(400, "'name' must be an object.", "invalidValue")
    sub = {k.lower(): v for k, v in name.items()}
    for scim, claim in NAME_CLAIMS.items():
        profile[claim] = _string(sub.get(scim.lower()), f"name.{scim}")
    for scim, claim in PROFILE_ATTRIBUTES.items():
        profile[claim] = _string(data.get(scim.lower()), scim)
    active = _boolean(data["active"]) if data.get("active") is not None else True
    external_id = _string(data.get("externalid"), "externalId")
    password = _string(data.get("password"), "password")
    return (
        ProvisionedUser(
            email=user_name, active=active, profile=profile, external_id=external_id, enterprise=enterprise
        ),
        password,
    )


def parse_enterprise(value: Any) -> dict[str, Any]:
    """The enterprise extension (RFC 7643 §4.3) as stored: its string attributes and ``manager`` (``value``, the
    manager's user id, and ``displayName``); names case-insensitive, null or empty values dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScimError(400, f"'{ENTERPRISE_SCHEMA}' must be an object.", "invalidValue")
    known = {name.lower(): name for name in (*ENTERPRISE_STRINGS, "manager")}
    stored: dict[str, Any] = {}
    for key, item in value.items():
        name = known.get(str(key).lower())
        if name is None:
            raise ScimError(400, f"Unknown enterprise attribute '{str(key)[:64]}'.", "invalidPath")
        if item is None or item == "":
            continue
        if name == "manager":
            manager = _manager(item)
            if manager:
                stored["manager"] = manager
        elif not isinstance(item, str) or len(item) > MAX_ENTERPRISE_VALUE:
            raise ScimError(400, f"'{name}' must be a string of at most 256 characters.", "invalidValue")
        else:
            stored[name] = item
    return stored


def _manager(item: Any) -> dict[str, str]:
    if isinstance(item, str):  # some clients send the manager's id alone
        item = {"value": item}
    if not isinstance(item, dict):
        raise ScimError(400, "'manager' must be an object.", "invalidValue")
    manager: dict[str, str] = {}
    for key, sub in item.items():
        name = {"value": "value", "displayname": "displayName", "$ref": "$ref"}.get(str(key).lower())
        if name is None:
            raise ScimError(400, f"Unknown attribute 'manager.{str(key)[:64]}'.", "invalidPath")
        if sub is None or sub == "" or name == "$ref":
            continue
        if not isinstance(sub, str) or len(sub) > MAX_ENTERPRISE_VALUE:
            raise ScimError(400, f"'manager.{name}' must be a string.", "invalidValue")
        manager[name] = sub
    return manager
