"""SCIM discovery documents (RFC 7644 §4, RFC 7643 §5-7): what this server implements, and nothing more.

Resources: Users (with the enterprise user extension) and Groups. Advertised: PATCH, filtering (max 200 results
per page). Not advertised (not implemented): bulk, sorting, ETags, password change through the SCIM ``/Me``
endpoint.
"""

from __future__ import annotations

from typing import Any

from chalicelib.web.scim.groups import GROUP_SCHEMA
from chalicelib.web.scim.users import ENTERPRISE_SCHEMA, USER_SCHEMA

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


def _attribute(
    name: str,
    kind: str = "string",
    *,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    multi: bool = False,
    sub: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": name,
        "required": required,
        "mutability": mutability,
        "returned": returned,
    }
    if kind in ("string", "reference"):
        attribute.update({"caseExact": case_exact, "uniqueness": uniqueness})
    if kind == "reference":
        attribute["referenceTypes"] = ["external"]
    if sub is not None:
        attribute["subAttributes"] = sub
    return attribute


USER_ATTRIBUTES = [
    _attribute("userName", required=True, uniqueness="server"),
    _attribute(
        "name",
        "complex",
        sub=[
            _attribute("formatted", mutability="readOnly"),
            _attribute("familyName"),
            _attribute("givenName"),
            _attribute("middleName"),
        ],
    ),
    _attribute("displayName"),
    _attribute("nickName"),
    _attribute("profileUrl", "reference"),
    _attribute("locale"),
    _attribute("timezone"),
    _attribute("active", "boolean"),
    _attribute("password", mutability="writeOnly", returned="never"),
    _attribute(
        "emails",
        "complex",
        multi=True,
        sub=[_attribute("value"), _attribute("type"), _attribute("primary", "boolean")],
    ),
]


ENTERPRISE_ATTRIBUTES = [
    _attribute("employeeNumber"),
    _attribute("costCenter"),
    _attribute("organization"),
    _attribute("division"),
    _attribute("department"),
    _attribute(
        "manager",
        "complex",
        sub=[
            _attribute("value", case_exact=True),
            _attribute("$ref", "reference", mutability="readOnly"),
            _attribute("displayName", mutability="readOnly"),
        ],
    ),
]


GROUP_ATTRIBUTES = [
    _attribute("displayName", required=True),
    _attribute(
        "members",
        "complex",
        multi=True,
        sub=[
            _attribute("value", case_exact=True, mutability="immutable"),
            _attribute("$ref", "reference", mutability="immutable"),
            _attribute("type", mutability="immutable"),
        ],
    ),
]


def service_provider_config(base_url: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "An access token from this tenant's token endpoint (client_credentials, scope scim).",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


def resource_types(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP_SCHEMA,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/Group"},
        },
    ]


def schemas(base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA,
            "name": "User",
            "description": "User Account",
            "attributes": USER_ATTRIBUTES,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{USER_SCHEMA}"},
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": ENTERPRISE_SCHEMA,
            "name": "EnterpriseUser",
            "description": "Enterprise User",
            "attributes": ENTERPRISE_ATTRIBUTES,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{ENTERPRISE_SCHEMA}"},
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": GROUP_SCHEMA,
            "name": "Group",
            "description": "Group",
            "attributes": GROUP_ATTRIBUTES,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{GROUP_SCHEMA}"},
        },
    ]
