"""Audit events of admin and SCIM writes over real HTTP: exactly one event per write with who, what, where,
when, from where and the outcome; no password, secret or token in any event; newest-first pagination and type
filters; an organization admin sees only its part; another tenant's token reads nothing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.admin.conftest import Scim
from tests.e2e.admin.test_admin_nodes import admin_token

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
AGENT = "audit-test/1.0"
PASSWORD = "Very-unusual-passphrase-4711!"


def client_id_of(token: str) -> str:
    from jose import jwt

    return str(jwt.get_unverified_claims(token)["client_id"])


@pytest.fixture(scope="module")
def audited(live_server: str, demo: dict[str, Any], service_token: Callable[..., str]) -> dict[str, Any]:
    """A fresh tenant (so its audit trail holds only this module's events), a root admin and a SCIM client."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = f"audit-{uuid.uuid4().hex[:8]}"
    container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(TenantId(slug))
    admin = admin_token(live_server, slug, None)
    scim = Scim(f"{live_server}/t/{slug}/scim/v2", service_token(slug, ("scim",)))
    return {"tenant": slug, "base": f"{live_server}/t/{slug}/admin", "admin": admin, "scim": scim}


def audit(ctx: dict[str, Any], token: str | None = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or ctx['admin']}"}
    return requests.get(f"{ctx['base']}/audit", params=params, headers=headers, timeout=10)


def events(ctx: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = audit(ctx, limit=200, **params)
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


def one_new_event(ctx: dict[str, Any], before: list[dict[str, Any]]) -> dict[str, Any]:
    seen = {e["id"] for e in before}
    new = [e for e in events(ctx) if e["id"] not in seen]
    assert len(new) == 1, new
    return new[0]


def scim_write(scim: Scim, method: str, path: str, body: Any = None) -> requests.Response:
    return scim.request(method, path, body, headers={"User-Agent": AGENT})


def test_each_scim_write_produces_exactly_one_event(audited: dict[str, Any], client_address: str) -> None:
    scim: Scim = audited["scim"]
    assert scim.token is not None
    actor = client_id_of(scim.token)
    email = f"ada-{uuid.uuid4().hex[:8]}@example.org"
    started = int(time.time())

    before = events(audited)
    created = scim_write(scim, "POST", "/Users", {"schemas": [USER], "userName": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    event = one_new_event(audited, before)
    assert event["type"] == "scim.user.create" and event["outcome"] == "success"
    assert event["actor"] == actor and event["target"] == user_id and event["node"] == audited["tenant"]
    assert event["source_ip"] == client_address and event["user_agent"] == AGENT
    assert started - 5 <= event["occurred_at"] <= int(time.time()) + 5

    user_path = f"/Users/{user_id}"
    steps: list[tuple[str, str, Any, str]] = [
        ("PUT", user_path, {"schemas": [USER], "userName": email, "displayName": "Ada"}, "scim.user.replace"),
        (
            "PATCH",
            user_path,
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]},
            "scim.user.patch",
        ),
        (
            "POST",
            "/Groups",
            {"schemas": [GROUP], "displayName": "Engineers", "members": [{"value": user_id}]},
            "scim.group.create",
        ),
    ]
    for method, path, body, action in steps:
        before = events(audited)
        response = scim_write(scim, method, path, body)
        assert response.status_code in (200, 201), response.text
        event = one_new_event(audited, before)
        assert (event["type"], event["outcome"], event["actor"]) == (action, "success", actor)
        assert event["target"] == (response.json()["id"] if method == "POST" else user_id)
    group_id = event["target"]

    for method, path, body, action, target in (
        (
            "PATCH",
            f"/Groups/{group_id}",
            {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "Eng"}]},
            "scim.group.patch",
            group_id,
        ),
        ("PUT", f"/Groups/{group_id}", {"schemas": [GROUP], "displayName": "Eng"}, "scim.group.replace", group_id),
        ("DELETE", f"/Groups/{group_id}", None, "scim.group.delete", group_id),
        ("DELETE", user_path, None, "scim.user.delete", user_id),
    ):
        before = events(audited)
        response = scim_write(scim, method, path, body)
        assert response.status_code in (200, 204), response.text
        event = one_new_event(audited, before)
        assert (event["type"], event["outcome"], event["target"]) == (action, "success", target)

    # reads are not audited
    before = events(audited)
    assert scim.get("/Users").status_code == 200 and scim.get("/Groups").status_code == 200
    assert events(audited) == before


def test_a_failed_write_is_one_failure_event(audited: dict[str, Any]) -> None:
    scim: Scim = audited["scim"]
    email = f"dup-{uuid.uuid4().hex[:8]}@example.org"
    assert scim_write(scim, "POST", "/Users", {"schemas": [USER], "userName": email}).status_code == 201
    before = events(audited)
    duplicate = scim_write(scim, "POST", "/Users", {"schemas": [USER], "userName": email.upper()})
    assert duplicate.status_code == 409, duplicate.text
    event = one_new_event(audited, before)
    assert (event["type"], event["outcome"]) == ("scim.user.create", "failure")
    assert event["details"] == {"error": "AlreadyExists"}

    before = events(audited)
    assert scim_write(scim, "DELETE", f"/Users/{uuid.uuid4()}").status_code == 404
    event = one_new_event(audited, before)
    assert (event["type"], event["outcome"], event["details"]) == ("scim.user.delete", "failure", {"error": "NotFound"})

    # a request that is not authorized is nobody's action: no event
    before = events(audited)
    assert Scim(scim.base, "bad-token").post("/Users", {"schemas": [USER], "userName": email}).status_code == 401
    assert events(audited) == before


def test_admin_node_creation_is_audited_on_the_new_node(audited: dict[str, Any]) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    before = events(audited)
    headers = {"Authorization": f"Bearer {audited['admin']}", "User-Agent": AGENT}
    created = requests.post(f"{audited['base']}/nodes", json={"slug": slug}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    event = one_new_event(audited, before)
    assert (event["type"], event["target"], event["node"], event["outcome"]) == (
        "admin.node.create",
        slug,
        slug,
        "success",
    )
    assert event["actor"] == client_id_of(audited["admin"]) and event["user_agent"] == AGENT

    before = events(audited)
    refused = requests.post(f"{audited['base']}/nodes", json={"slug": "Bad Slug"}, headers=headers, timeout=10)
    assert refused.status_code == 400
    event = one_new_event(audited, before)
    assert (event["type"], event["outcome"], event["details"]) == (
        "admin.node.create",
        "failure",
        {"error": "InvalidInput"},
    )


def test_no_password_secret_or_token_is_ever_recorded(audited: dict[str, Any]) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    scim: Scim = audited["scim"]
    email = f"secret-{uuid.uuid4().hex[:8]}@example.org"
    created = scim_write(scim, "POST", "/Users", {"schemas": [USER], "userName": email, "password": PASSWORD})
    assert created.status_code == 201
    replaced = scim_write(
        scim,
        "PUT",
        f"/Users/{created.json()['id']}",
        {"schemas": [USER], "userName": email, "password": PASSWORD + "x"},
    )
    assert replaced.status_code == 200, replaced.text
    stored, _ = container.audit().list(TenantId(audited["tenant"]), limit=200)
    text = audit(audited, limit=200).text + json.dumps([e.__dict__ for e in stored])
    for secret in (PASSWORD, scim.token, audited["admin"], "password", "argon2"):
        assert secret is not None and secret not in text


def test_pagination_newest_first_and_type_filter(audited: dict[str, Any]) -> None:
    scim: Scim = audited["scim"]
    for _ in range(3):
        body = {"schemas": [USER], "userName": f"page-{uuid.uuid4().hex[:8]}@example.org"}
        assert scim_write(scim, "POST", "/Users", body).status_code == 201
    everything = events(audited)
    assert len(everything) >= 4
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    paged: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = audit(audited, **params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["events"]) <= 2
        paged += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == [e["id"] for e in everything]
    creates = events(audited, type="scim.user.create")
    assert creates and {e["type"] for e in creates} == {"scim.user.create"}
    assert creates == [e for e in everything if e["type"] == "scim.user.create"]
    scim_only = events(audited, type="scim.")
    assert scim_only == [e for e in everything if e["type"].startswith("scim.")]
    for bad in (
        {"limit": "0"},
        {"limit": "x"},
        {"limit": "201"},
        {"cursor": "!!!"},
        {"cursor": "bm9wZQ"},
        {"type": "DROP TABLE"},
    ):
        response = audit(audited, **bad)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", (bad, response.text)


def test_an_organization_admin_sees_only_events_of_its_part(audited: dict[str, Any], live_server: str) -> None:
    root = {"Authorization": f"Bearer {audited['admin']}"}
    org, sibling = f"org-{uuid.uuid4().hex[:6]}", f"sib-{uuid.uuid4().hex[:6]}"
    for slug in (org, sibling):
        assert requests.post(f"{audited['base']}/nodes", json={"slug": slug}, headers=root, timeout=10).ok
    org_admin = admin_token(live_server, audited["tenant"], org)
    account = f"acc-{uuid.uuid4().hex[:6]}"
    headers = {"Authorization": f"Bearer {org_admin}"}
    assert requests.post(f"{audited['base']}/nodes", json={"slug": account}, headers=headers, timeout=10).ok
    response = audit(audited, org_admin, limit=200)
    assert response.status_code == 200, response.text
    seen = response.json()["events"]
    assert {(e["type"], e["target"]) for e in seen} == {("admin.node.create", org), ("admin.node.create", account)}
    assert {e["node"] for e in seen} == {org, account}


def test_other_tenants_and_non_admin_tokens_read_nothing(
    audited: dict[str, Any], other_tenant: str, live_server: str, service_token: Callable[..., str]
) -> None:
    other_admin = admin_token(live_server, other_tenant, None)
    assert audit(audited, other_admin).status_code == 401
    own = requests.get(
        f"{live_server}/t/{other_tenant}/admin/audit", headers={"Authorization": f"Bearer {other_admin}"}, timeout=10
    )
    assert own.status_code == 200
    assert not {e["target"] for e in own.json()["events"]} & {e["target"] for e in events(audited)}
    assert audit(audited, audited["scim"].token).status_code == 403
    anonymous = requests.get(f"{audited['base']}/audit", timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
