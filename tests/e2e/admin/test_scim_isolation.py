"""Cross-tenant isolation of SCIM: a token of one tenant never reads or changes another tenant's users."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.admin.conftest import Scim

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def body(email: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": email, "active": True}


@pytest.fixture(scope="module")
def tenants(scim_for: Callable[..., Scim], other_tenant: str) -> dict[str, Any]:
    demo = scim_for("demo")
    other = scim_for(other_tenant)
    email = f"shared-{uuid.uuid4().hex[:8]}@example.org"
    # the same address exists in both tenants, as two unrelated accounts
    demo_user = demo.post("/Users", body(email)).json()
    other_user = other.post("/Users", body(email)).json()
    assert demo_user["id"] != other_user["id"]
    return {"demo": demo, "other": other, "demo_user": demo_user, "other_user": other_user, "email": email}


def test_each_tenant_lists_only_its_own_users(tenants: dict[str, Any]) -> None:
    email = tenants["email"]
    for name, own in (("demo", tenants["demo_user"]), ("other", tenants["other_user"])):
        listed = tenants[name].get("/Users", params={"filter": f'userName eq "{email}"'}).json()
        assert [r["id"] for r in listed["Resources"]] == [own["id"]]
        assert own["meta"]["location"].endswith(f"/t/{name}/scim/v2/Users/{own['id']}")
    every_other = tenants["other"].get("/Users", params={"count": 200}).json()
    assert tenants["demo_user"]["id"] not in {r["id"] for r in every_other["Resources"]}


def test_a_token_of_one_tenant_is_refused_at_the_other(tenants: dict[str, Any]) -> None:
    demo: Scim = tenants["demo"]
    other: Scim = tenants["other"]
    demo_token_at_other = Scim(other.base, demo.token)
    other_token_at_demo = Scim(demo.base, other.token)
    for scim, victim in ((demo_token_at_other, tenants["other_user"]), (other_token_at_demo, tenants["demo_user"])):
        path = f"/Users/{victim['id']}"
        responses = [
            scim.get("/Users"),
            scim.get(path),
            scim.put(path, body(f"stolen-{uuid.uuid4().hex[:8]}@example.org")),
            scim.patch(path, {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}),
            scim.delete(path),
            scim.post("/Users", body(f"planted-{uuid.uuid4().hex[:8]}@example.org")),
            scim.get("/ServiceProviderConfig"),
        ]
        assert [r.status_code for r in responses] == [401] * len(responses)
    # nothing changed on either side
    assert demo.get(f"/Users/{tenants['demo_user']['id']}").json() == tenants["demo_user"]
    assert other.get(f"/Users/{tenants['other_user']['id']}").json() == tenants["other_user"]


def test_an_id_of_another_tenant_is_not_found_with_a_valid_token(tenants: dict[str, Any]) -> None:
    demo: Scim = tenants["demo"]
    foreign = f"/Users/{tenants['other_user']['id']}"
    assert demo.get(foreign).status_code == 404
    assert demo.put(foreign, body(f"x-{uuid.uuid4().hex[:8]}@example.org")).status_code == 404
    assert demo.delete(foreign).status_code == 404
    assert tenants["other"].get(foreign).json() == tenants["other_user"]
