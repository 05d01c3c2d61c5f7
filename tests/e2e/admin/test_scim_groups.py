"""SCIM 2.0 Groups over real HTTP: create with members, read, list with filters, replace, patch membership
(standard and Entra ID style), delete, members leaving when their user is deleted, and tenant isolation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.admin.conftest import Scim
from tests.e2e.admin.test_scim_users import assert_scim_error, new_user, patch_ops

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def make_users(scim: Scim, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = scim.post("/Users", new_user())
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def group_body(name: str, members: list[str], **extra: Any) -> dict[str, Any]:
    return {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members], **extra}


def member_ids(group: dict[str, Any]) -> list[str]:
    return [m["value"] for m in group.get("members", [])]


@pytest.fixture
def people(scim: Scim) -> list[str]:
    return make_users(scim, 3)


def test_create_read_and_list_with_filters(scim: Scim, people: list[str], live_server: str) -> None:
    name = f"Engineering {uuid.uuid4().hex[:8]}"
    response = scim.post("/Groups", group_body(name, people[:2], externalId="grp-1"))
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["schemas"] == [GROUP] and group["displayName"] == name and group["externalId"] == "grp-1"
    assert member_ids(group) == people[:2]
    assert group["members"][0] == {
        "value": people[0],
        "$ref": f"{live_server}/t/demo/scim/v2/Users/{people[0]}",
        "type": "User",
    }
    assert group["meta"]["resourceType"] == "Group"
    assert response.headers["Location"] == group["meta"]["location"]
    assert scim.get(f"/Groups/{group['id']}").json() == group

    def ids(expression: str) -> list[str]:
        body = scim.get("/Groups", params={"filter": expression}).json()
        return [r["id"] for r in body["Resources"]]

    assert ids(f'displayName eq "{name.upper()}"') == [group["id"]]
    assert ids(f'members[value eq "{people[1]}"]') == [group["id"]]
    assert ids(f'members[value eq "{people[2]}"] and displayName eq "{name}"') == []
    assert_scim_error(scim.get("/Groups", params={"filter": "nonsense eq 1"}), 400, "invalidFilter")


def test_patch_membership(scim: Scim, people: list[str]) -> None:
    group = scim.post("/Groups", group_body(f"g-{uuid.uuid4().hex[:8]}", people[:1])).json()
    path = f"/Groups/{group['id']}"
    added = scim.patch(path, patch_ops({"op": "add", "path": "members", "value": [{"value": people[2]}]}))
    assert added.status_code == 200, added.text
    assert member_ids(added.json()) == [people[0], people[2]]
    removed = scim.patch(path, patch_ops({"op": "remove", "path": f'members[value eq "{people[0]}"]'}))
    assert member_ids(removed.json()) == [people[2]]
    # Entra ID removes members by value list, and renames without a path
    entra = scim.patch(
        path,
        patch_ops(
            {"op": "Remove", "path": "members", "value": [{"value": people[2]}]},
            {"op": "Replace", "value": {"displayName": "Renamed"}},
        ),
    ).json()
    assert member_ids(entra) == [] and entra["displayName"] == "Renamed"
    assert scim.get(path).json() == entra


def test_members_must_be_users_of_this_tenant(
    scim: Scim, scim_for: Callable[..., Scim], other_tenant: str, people: list[str]
) -> None:
    other = scim_for(other_tenant)
    foreign_user = other.post("/Users", new_user()).json()["id"]
    assert_scim_error(scim.post("/Groups", group_body("x", [foreign_user])), 400, "invalidValue")
    assert_scim_error(scim.post("/Groups", group_body("x", [str(uuid.uuid4())])), 400, "invalidValue")
    group = scim.post("/Groups", group_body("mine", people[:1])).json()
    patched = scim.patch(
        f"/Groups/{group['id']}", patch_ops({"op": "add", "path": "members", "value": [{"value": foreign_user}]})
    )
    assert_scim_error(patched, 400, "invalidValue")
    assert scim.get(f"/Groups/{group['id']}").json() == group


def test_replace_and_delete(scim: Scim, people: list[str]) -> None:
    group = scim.post("/Groups", group_body("before", people, externalId="e-1")).json()
    path = f"/Groups/{group['id']}"
    replaced = scim.put(path, group_body("after", people[1:2]))
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["displayName"] == "after" and member_ids(body) == people[1:2] and "externalId" not in body
    assert scim.delete(path).status_code == 204
    assert_scim_error(scim.get(path), 404)
    assert_scim_error(scim.delete(path), 404)


def test_invalid_groups(scim: Scim) -> None:
    assert_scim_error(scim.post("/Groups", {"schemas": [GROUP]}), 400, "invalidValue")
    assert_scim_error(scim.post("/Groups", group_body("  ", [])), 400, "invalidValue")
    assert_scim_error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "x", "members": "all"}), 400)
    assert_scim_error(scim.get(f"/Groups/{uuid.uuid4()}"), 404)


def test_a_deleted_user_leaves_its_groups(scim: Scim, people: list[str]) -> None:
    group = scim.post("/Groups", group_body("leavers", people)).json()
    assert scim.delete(f"/Users/{people[0]}").status_code == 204
    assert member_ids(scim.get(f"/Groups/{group['id']}").json()) == people[1:]


def test_groups_are_tenant_isolated(scim: Scim, scim_for: Callable[..., Scim], other_tenant: str) -> None:
    other = scim_for(other_tenant)
    theirs = other.post("/Groups", group_body("theirs", [])).json()
    path = f"/Groups/{theirs['id']}"
    assert_scim_error(scim.get(path), 404)
    assert_scim_error(scim.put(path, group_body("stolen", [])), 404)
    assert_scim_error(scim.delete(path), 404)
    assert theirs["id"] not in {g["id"] for g in scim.get("/Groups", params={"count": 200}).json()["Resources"]}
    assert_scim_error(Scim(other.base, scim.token).get(path), 401)  # demo's token at the other tenant
    assert other.get(path).json() == theirs
