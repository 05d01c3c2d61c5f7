"""The SCIM Group resource (RFC 7643 §4.2): representation, input parsing and the filterable attributes.

Members are users of the same tenant (``type`` ``User``; groups cannot contain groups here).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.entities import Group
from chalicelib.services.provisioning import ProvisionedGroup
from chalicelib.web.errors import ScimError
from chalicelib.web.scim.filters import FilterAttributes
from chalicelib.web.scim.patch import Attributes
from chalicelib.web.scim.users import timestamp

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

GROUP_FILTERS = FilterAttributes(
    GROUP_SCHEMA,
    {
        "id": ("id", True),
        "externalid": ("externalId", True),
        "displayname": ("displayName", False),
        "members": ("members.value", True),
        "members.value": ("members.value", True),
        "members.type": ("members.type", False),
        "meta.created": ("meta.created", False),
        "meta.lastmodified": ("meta.lastModified", False),
    },
)

GROUP_ATTRIBUTES = Attributes(
    {
        "schemas": (),
        "id": (),
        "meta": (),
        "externalId": (),
        "displayName": (),
        "members": ("value", "$ref", "type", "display"),
    },
    multi_valued=("members",),
)


def to_scim_group(group: Group, base_url: str) -> dict[str, Any]:
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.group_id}
    if group.external_id:
        resource["externalId"] = group.external_id
    resource["displayName"] = group.display_name
    resource["members"] = [{"value": m, "$ref": f"{base_url}/Users/{m}", "type": "User"} for m in group.members]
    resource["meta"] = {
        "resourceType": "Group",
        "created": timestamp(group.created_at),
        "lastModified": timestamp(group.updated_at),
        "location": f"{base_url}/Groups/{group.group_id}",
    }
    return resource


def parse_group(resource: Any) -> ProvisionedGroup:
    if not isinstance(resource, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    schemas = resource.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or GROUP_SCHEMA not in schemas):
        raise ScimError(400, f"'schemas' must contain {GROUP_SCHEMA}.", "invalidSyntax")
    prefix = GROUP_SCHEMA.lower() + ":"
    data = {(k.lower()[len(prefix) :] if k.lower().startswith(prefix) else k.lower()): v for k, v in resource.items()}
    name = data.get("displayname")
    if not isinstance(name, str):
        raise ScimError(400, "'displayName' is required.", "invalidValue")
    external_id = data.get("externalid")
    if external_id is not None and not isinstance(external_id, str):
        raise ScimError(400, "'externalId' must be a string.", "invalidValue")
    members = data.get("members") or []
    if not isinstance(members, list):
        raise ScimError(400, "'members' must be a list.", "invalidValue")
    ids: list[str] = []
    for member in members:
        if not isinstance(member, dict) or not isinstance(member.get("value"), str):
            raise ScimError(400, "Each member needs a 'value' (a user id).", "invalidValue")
        if str(member.get("type", "User")).lower() != "user":
            raise ScimError(400, "Members must be users.", "invalidValue")
        ids.append(member["value"])
    return ProvisionedGroup(display_name=name, members=tuple(ids), external_id=external_id)
