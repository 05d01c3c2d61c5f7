"""SCIM enterprise user extension (advertised, stored, replaced, patched by path and without, filtered out of
the core schema's checks) and the tenant's verification rules for provisioned users: by default a provisioned
address is verified by the user (pending account, verification or invitation email), ``trust`` skips that."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.admin.conftest import Scim
from tests.e2e.registration.conftest import token_link, wait_for_mail

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module")
def verifying_tenant(demo: dict[str, Any]) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"scimv-{uuid.uuid4().hex[:8]}"
    container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(TenantId(slug))
    return slug


def _user(email: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [CORE, ENTERPRISE], "userName": email, "active": True, **extra}


def test_the_extension_is_advertised(scim: Scim) -> None:
    types = scim.get("/ResourceTypes/User").json()
    assert types["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    schema = scim.get(f"/Schemas/{ENTERPRISE}").json()
    assert {a["name"] for a in schema["attributes"]} == {
        "employeeNumber", "costCenter", "organization", "division", "department", "manager",
    }  # fmt: skip
    assert ENTERPRISE in {s["id"] for s in scim.get("/Schemas").json()["Resources"]}


def test_enterprise_attributes_are_stored_replaced_and_patched(scim: Scim) -> None:
    manager = scim.post("/Users", _user(f"boss-{uuid.uuid4().hex[:6]}@example.org")).json()
    body = _user(
        f"emp-{uuid.uuid4().hex[:6]}@example.org",
        **{ENTERPRISE: {"employeeNumber": "701", "Department": "Sales", "manager": {"value": manager["id"]}}},
    )
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["schemas"] == [CORE, ENTERPRISE]
    assert user[ENTERPRISE] == {"employeeNumber": "701", "department": "Sales", "manager": {"value": manager["id"]}}
    assert scim.get(f"/Users/{user['id']}").json()[ENTERPRISE] == user[ENTERPRISE]
    patched = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Marketing"},
                {"op": "add", "path": f"{ENTERPRISE}:manager.displayName", "value": "The Boss"},
                {"op": "add", "value": {ENTERPRISE: {"costCenter": "CC-9"}}},
                {"op": "remove", "path": f"{ENTERPRISE}:employeeNumber"},
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()[ENTERPRISE] == {
        "department": "Marketing",
        "costCenter": "CC-9",
        "manager": {"value": manager["id"], "displayName": "The Boss"},
    }
    bad_path = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:shoeSize", "value": "44"}],
        },
    )
    assert bad_path.status_code == 400 and bad_path.json()["scimType"] == "invalidPath"
    replaced = scim.put(f"/Users/{user['id']}", {"schemas": [CORE], "userName": user["userName"]})
    assert replaced.status_code == 200 and ENTERPRISE not in replaced.json()  # PUT replaces the extension too
    wrong = scim.post("/Users", _user(f"x-{uuid.uuid4().hex[:6]}@example.org", **{ENTERPRISE: {"department": 7}}))
    assert wrong.status_code == 400 and wrong.json()["scimType"] == "invalidValue"


def test_provisioned_addresses_are_verified_by_default(
    scim_for: Callable[..., Scim], verifying_tenant: str, outbox: Any, live_server: str
) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    scim = scim_for(verifying_tenant)
    email = f"new-{uuid.uuid4().hex[:6]}@example.org"
    created = scim.post("/Users", _user(email, name={"givenName": "Nia"}))
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True  # not disabled; it becomes usable once the address is confirmed
    stored = container.accounts().get(TenantId(verifying_tenant), created.json()["id"])
    assert stored.status == "pending" and not stored.email_verified
    link = token_link(wait_for_mail(outbox, email, "invited")[0])  # no password provisioned: set one
    assert f"/t/{verifying_tenant}/invitation?token=" in link
    with_password = f"pw-{uuid.uuid4().hex[:6]}@example.org"
    made = scim.post("/Users", _user(with_password, password=f"Correct-Horse-{uuid.uuid4().hex}"))
    assert made.status_code == 201, made.text
    assert token_link(wait_for_mail(outbox, with_password)[0])
    inactive = scim.post("/Users", {**_user(f"off-{uuid.uuid4().hex[:6]}@example.org"), "active": False})
    assert inactive.status_code == 201 and inactive.json()["active"] is False
    assert container.accounts().get(TenantId(verifying_tenant), inactive.json()["id"]).status == "disabled"
    # the tenant may trust its provisioning systems instead
    root = container.tenants().tree(verifying_tenant).root
    container.tenants().update_node(
        TenantId(verifying_tenant), root.node_id, settings={"provisioning": {"email_verification": "trust"}}
    )
    trusted = scim.post("/Users", _user(f"t-{uuid.uuid4().hex[:6]}@example.org"))
    stored = container.accounts().get(TenantId(verifying_tenant), trusted.json()["id"])
    assert stored.status == "active" and stored.email_verified
