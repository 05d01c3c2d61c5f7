"""Admin API for clients (create, list, edit redirect URIs, rotate secret, delete), group membership and the
user actions invite, promote and retire, over real HTTP: each scoped to the admin's tier, each audited (without
secrets), and each with its effect visible at the protocol endpoints."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.admin.test_admin_nodes import admin_token
from tests.e2e.registration.conftest import token_link, wait_for_mail
from tests.support.admin_api import Api, bearer_api
from tests.support.tenants import new_org_tree


@pytest.fixture(scope="module")
def org(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    slug, tag = new_org_tree("cg")
    return {"tenant": slug, "tag": tag, "base": f"{live_server}/t/{slug}", "live": live_server}


def n(org: dict[str, Any], name: str) -> str:
    return org["tenant"] if name == "root" else f"{name}-{org['tag']}"


def api(org: dict[str, Any], at: str) -> Api:
    token = admin_token(org["live"], org["tenant"], None if at == "root" else n(org, at))

    return bearer_api(f"{org['base']}/admin", token)


@pytest.fixture(scope="module")
def admins(org: dict[str, Any]) -> dict[str, Api]:
    return {at: api(org, at) for at in ("root", "acme", "east", "globex")}


def token_for(org: dict[str, Any], client_id: str, secret: str) -> requests.Response:
    return requests.post(
        f"{org['base']}/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )


def test_clients_are_managed_inside_the_admins_tier(org: dict[str, Any], admins: dict[str, Api]) -> None:
    acme, east, globex = admins["acme"], admins["east"], admins["globex"]
    made = acme("POST", "/clients", {"name": "Acme sync", "type": "service", "scopes": ["orders"]})
    assert made.status_code == 201, made.text
    client = made.json()
    assert client["node"] == n(org, "acme") and client["client_secret"] and client["scopes"] == ["orders"]
    assert token_for(org, client["client_id"], client["client_secret"]).status_code == 200
    web = acme(
        "POST",
        "/clients",
        {"name": "Shop", "type": "confidential", "redirect_uris": ["https://shop.example/cb"], "node": n(org, "east")},
    ).json()
    assert web["node"] == n(org, "east")
    # visibility follows the tier
    assert {client["client_id"], web["client_id"]} <= {
        c["client_id"] for c in acme("GET", "/clients").json()["clients"]
    }
    east_sees = {c["client_id"] for c in east("GET", "/clients").json()["clients"]}
    assert web["client_id"] in east_sees and client["client_id"] not in east_sees
    for outsider, target in ((east, client), (globex, client), (globex, web)):
        assert outsider("GET", f"/clients/{target['client_id']}").status_code == 404
        assert outsider("PATCH", f"/clients/{target['client_id']}", {"name": "x"}).status_code == 404
        assert outsider("POST", f"/clients/{target['client_id']}/rotate-secret").status_code == 404
        assert outsider("DELETE", f"/clients/{target['client_id']}").status_code == 404
    assert east("POST", "/clients", {"name": "x", "type": "service", "node": n(org, "west")}).status_code == 403
    assert (
        acme(
            "POST",
            "/clients",
            {"name": "x", "type": "public", "redirect_uris": ["com.acme.app:/cb"], "first_party": True},
        ).status_code
        == 403
    )
    third_party_admin = acme(
        "POST",
        "/clients",
        {"name": "x", "type": "confidential", "redirect_uris": ["https://x.example/cb"], "scopes": ["openid", "admin"]},
    )
    assert third_party_admin.status_code == 400 and third_party_admin.json()["fields"] == {"scope": "admin"}
    assert (
        acme(
            "POST", "/clients", {"name": "x", "type": "confidential", "redirect_uris": ["http://evil.example/cb"]}
        ).status_code
        == 400
    )
    assert acme("POST", "/clients", {"name": "x", "type": "wizard"}).status_code == 400

    # redirect URIs: validated, exact, effective at the authorization endpoint
    edited = east("PATCH", f"/clients/{web['client_id']}", {"redirect_uris": ["https://shop.example/callback"]})
    assert edited.status_code == 200 and edited.json()["redirect_uris"] == ["https://shop.example/callback"]
    assert (
        east("PATCH", f"/clients/{web['client_id']}", {"redirect_uris": ["https://shop.example/cb#x"]}).status_code
        == 400
    )
    assert east("PATCH", f"/clients/{web['client_id']}", {"redirect_uris": []}).status_code == 400
    assert east("PATCH", f"/clients/{web['client_id']}", {"client_secret": "mine"}).status_code == 400
    params = {"client_id": web["client_id"], "response_type": "code", "scope": "openid"}
    old = requests.get(
        f"{org['base']}/authorize",
        params={**params, "redirect_uri": "https://shop.example/cb"},
        allow_redirects=False,
        timeout=10,
    )
    assert old.status_code == 400
    # rotation: the old secret stops working at once
    rotated = acme("POST", f"/clients/{client['client_id']}/rotate-secret")
    assert rotated.status_code == 200
    assert token_for(org, client["client_id"], client["client_secret"]).status_code == 401
    assert token_for(org, client["client_id"], rotated.json()["client_secret"]).status_code == 200
    # deletion
    assert acme("DELETE", f"/clients/{client['client_id']}").status_code == 204
    assert token_for(org, client["client_id"], rotated.json()["client_secret"]).status_code == 401
    assert acme("GET", f"/clients/{client['client_id']}").status_code == 404
    events = admins["root"]("GET", "/audit", type="admin.client.").json()["events"]
    kinds = {e["type"] for e in events if e["target"] == client["client_id"]}
    assert kinds == {"admin.client.create", "admin.client.rotate_secret", "admin.client.delete"}
    assert rotated.json()["client_secret"] not in json.dumps(events)


def _scim(org: dict[str, Any]) -> Callable[..., requests.Response]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    client, secret = container.clients().create(
        TenantId(org["tenant"]), name="hr", client_type="service", scopes=["scim"]
    )
    token = token_for(org, client.client_id, str(secret)).json()["access_token"]

    def send(method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        data = json.dumps(body) if body is not None else None
        return requests.request(method, f"{org['base']}/scim/v2{path}", data=data, headers=headers, timeout=10)

    return send


def test_group_membership_of_the_admins_users(org: dict[str, Any], admins: dict[str, Api]) -> None:
    root, acme = admins["root"], admins["acme"]
    mine = root(
        "POST", "/users", {"email": f"g-{uuid.uuid4().hex[:6]}@e.org", "node": n(org, "east"), "verified": True}
    ).json()
    theirs = root(
        "POST", "/users", {"email": f"g-{uuid.uuid4().hex[:6]}@e.org", "node": n(org, "globex"), "verified": True}
    ).json()
    scim = _scim(org)
    group = scim(
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales",
            "members": [{"value": theirs["id"]}],
        },
    ).json()
    added = acme("POST", f"/users/{mine['id']}/groups", {"group": group["id"]})
    assert added.status_code == 200, added.text
    assert acme("POST", f"/users/{theirs['id']}/groups", {"group": group["id"]}).status_code == 404
    assert acme("POST", f"/users/{mine['id']}/groups", {"group": "no-such-group"}).status_code == 404
    assert acme("POST", f"/users/{mine['id']}/groups", {}).status_code == 400
    listed = {g["id"]: g for g in acme("GET", "/groups").json()["groups"]}
    assert listed[group["id"]]["members"] == [mine["id"]]  # the sibling's member stays hidden
    assert acme("GET", f"/users/{mine['id']}/groups").json()["groups"] == [{"id": group["id"], "display_name": "Sales"}]
    members = {m["value"] for m in scim("GET", f"/Groups/{group['id']}").json()["members"]}
    assert members == {mine["id"], theirs["id"]}
    assert acme("DELETE", f"/users/{mine['id']}/groups/{group['id']}").status_code == 204
    assert {m["value"] for m in scim("GET", f"/Groups/{group['id']}").json()["members"]} == {theirs["id"]}
    assert acme("DELETE", f"/users/{theirs['id']}/groups/{group['id']}").status_code == 404
    types = [e["type"] for e in acme("GET", "/audit", type="admin.group.").json()["events"]]
    assert types[:2] == ["admin.group.remove_member", "admin.group.add_member"]


def test_invite_promote_and_retire(org: dict[str, Any], admins: dict[str, Api], outbox: Any) -> None:
    acme = admins["acme"]
    email = f"invitee-{uuid.uuid4().hex[:6]}@example.org"
    invited = acme("POST", "/users", {"email": email, "node": n(org, "west"), "invite": True})
    assert invited.status_code == 201, invited.text
    assert invited.json()["status"] == "pending" and invited.json()["node"] == n(org, "west")
    assert "/invitation?token=" in token_link(wait_for_mail(outbox, email, "invited")[0])
    assert acme("POST", "/users", {"email": email, "invite": "yes"}).status_code == 400
    assert acme("POST", "/users", {"email": f"x{email}", "invite": True, "password": "x"}).status_code == 400

    staff = admins["root"](
        "POST", "/users", {"email": f"s-{uuid.uuid4().hex[:6]}@e.org", "node": n(org, "east"), "verified": True}
    ).json()
    promoted = acme("POST", f"/users/{staff['id']}/promote")
    assert promoted.status_code == 201 and promoted.json() == {
        "user": staff["id"],
        "role": "account-admin",
        "node": n(org, "east"),
    }
    up = acme("POST", f"/users/{staff['id']}/promote", {"node": n(org, "acme")})
    assert up.status_code == 201 and up.json()["role"] == "organization-admin"
    assert acme("POST", f"/users/{staff['id']}/promote", {"node": n(org, "globex")}).status_code == 403
    assert admins["east"]("POST", f"/users/{staff['id']}/promote", {"node": n(org, "acme")}).status_code == 403
    scim = _scim(org)
    group = scim(
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Ops",
            "members": [{"value": staff["id"]}],
        },
    ).json()

    retired = acme("POST", f"/users/{staff['id']}/retire")
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "disabled"
    assert retired.json()["retired"]["roles"] == 2 and retired.json()["retired"]["groups"] == 1
    assert acme("GET", f"/users/{staff['id']}/roles").json()["roles"] == []
    assert scim("GET", f"/Groups/{group['id']}").json().get("members", []) == []
    assert acme("GET", f"/users/{staff['id']}").json()["status"] == "disabled"  # the record stays
    assert admins["globex"]("POST", f"/users/{staff['id']}/retire").status_code == 404
