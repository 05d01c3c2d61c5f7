"""Roles and delegated administration over real HTTP: users get the ``admin`` scope from our own token endpoint
(authorization code flow of a first-party client) only while they hold an admin role, and every admin call checks
the role and its node: an organization admin manages that organization and its accounts, an account admin cannot
touch its sibling or its parent. Custom roles, role assignment rules, audit events and tenant isolation."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.admin.test_admin_nodes import admin_token
from tests.support.admin_api import Api, bearer_api
from tests.support.oidc_client import Provider, pkce_pair
from tests.support.tenants import new_org_tree


@pytest.fixture(scope="module")
def org(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    """A fresh tenant: acme (organization) with accounts east and west, a sibling organization globex, and a
    first-party admin console client at the root."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug, tag = new_org_tree("roles")
    tenant_id = TenantId(slug)
    redirect = f"{live_server}/_local/callback"
    consoles = {}
    for at in ("root", "acme"):
        node = container.tenants().resolve_node(tenant_id, None if at == "root" else f"acme-{tag}")
        client, secret = container.clients().create(
            tenant_id,
            name=f"admin console {at}",
            client_type="confidential",
            redirect_uris=[redirect],
            first_party=True,
            scopes=["openid", "email", "admin"],
            client_id=f"console-{at}-{tag}",
            tier_node_id=node.node_id,
        )
        consoles[at] = (client.client_id, secret)
    return {"tenant": slug, "tag": tag, "base": f"{live_server}/t/{slug}/admin", "consoles": consoles, "cb": redirect}


def slug(org: dict[str, Any], name: str) -> str:
    return org["tenant"] if name == "root" else f"{name}-{org['tag']}"


def api(org: dict[str, Any], token: str) -> Api:
    return bearer_api(org["base"], token)


@pytest.fixture(scope="module")
def operator(org: dict[str, Any], live_server: str) -> Api:
    return api(org, admin_token(live_server, org["tenant"], None))


@pytest.fixture(scope="module")
def person(org: dict[str, Any], operator: Api) -> Callable[[str], dict[str, Any]]:
    """``person(node)``: a new verified user at that node, with its password."""

    def make(at: str) -> dict[str, Any]:
        password = f"Pw-{secrets.token_urlsafe(12)}"
        email = f"{at}-{uuid.uuid4().hex[:8]}@example.org"
        body = {"email": email, "node": slug(org, at), "verified": True, "password": password}
        response = operator("POST", "/users", body)
        assert response.status_code == 201, response.text
        return {**response.json(), "password": password}

    return make


def user_token(live_server: str, org: dict[str, Any], user: dict[str, Any], console: str = "root") -> dict[str, Any]:
    """The token response of a code flow for ``openid email admin`` through the admin console client."""
    client_id, secret = org["consoles"][console]
    op = Provider(live_server, org["tenant"])
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": org["cb"],
        "scope": "openid email admin",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    code = op.sign_in(requests.Session(), params, user["email"], user["password"], consent="allow")["code"]
    response = op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": org["cb"], "code_verifier": verifier},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def assign(caller: Api, user: dict[str, Any], role: str, node: str | None) -> requests.Response:
    body = {"role": role, **({"node": node} if node else {})}
    return caller("POST", f"/users/{user['id']}/roles", body)


def node_slugs(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {n["slug"] for n in response.json()["nodes"]}


def test_the_admin_scope_needs_an_admin_role(org: dict[str, Any], person: Any, live_server: str) -> None:
    tokens = user_token(live_server, org, person("acme"))
    assert tokens["scope"].split() == ["openid", "email"]  # granted less than asked (RFC 6749 §3.3)
    refused = api(org, tokens["access_token"])("GET", "/nodes")
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"


def test_third_party_clients_cannot_ask_for_the_admin_scope(org: dict[str, Any]) -> None:
    from chalicelib import container
    from chalicelib.core.errors import InvalidInput
    from chalicelib.core.ids import TenantId

    with pytest.raises(InvalidInput):
        container.clients().create(
            TenantId(org["tenant"]),
            name="third party",
            client_type="confidential",
            redirect_uris=["https://app.example.org/cb"],
            scopes=["openid", "admin"],
        )


def test_an_organization_admin_manages_only_its_organization(
    org: dict[str, Any], operator: Api, person: Any, live_server: str
) -> None:
    partner = person("acme")
    assert assign(operator, partner, "organization-admin", slug(org, "acme")).status_code == 201
    tokens = user_token(live_server, org, partner)
    assert "admin" in tokens["scope"].split()
    acme = api(org, tokens["access_token"])
    assert node_slugs(acme("GET", "/nodes")) == {slug(org, n) for n in ("acme", "east", "west")}
    for outside in ("globex", "root"):
        assert acme("GET", f"/nodes/{slug(org, outside)}").status_code == 403
        assert (
            acme("POST", "/users", {"email": f"x{uuid.uuid4().hex[:6]}@e.org", "node": slug(org, outside)}).status_code
            == 403
        )
    inside, beside, above = person("east"), person("globex"), person("root")
    listed = acme("GET", "/users", limit=200)
    assert listed.status_code == 200
    seen = {u["id"] for u in listed.json()["users"]}
    assert inside["id"] in seen and partner["id"] in seen and not {beside["id"], above["id"]} & seen
    for other in (beside, above):
        assert acme("GET", f"/users/{other['id']}").status_code == 404
        assert acme("POST", f"/users/{other['id']}/disable").status_code == 404
        assert assign(acme, other, "account-admin", slug(org, "east")).status_code == 404
    # it hands out admin rights inside its organization only
    assert assign(acme, inside, "account-admin", slug(org, "east")).status_code == 201
    assert assign(acme, inside, "organization-admin", slug(org, "globex")).status_code == 403
    assert assign(acme, inside, "tenant-admin", slug(org, "root")).status_code == 403
    assert acme("POST", "/nodes", {"slug": f"north-{org['tag']}"}).status_code == 201
    audit = acme("GET", "/audit", type="admin.role.")
    assert audit.status_code == 200
    mine = [e for e in audit.json()["events"] if e["actor"] == f"user:{partner['id']}"]
    assert {(e["type"], e["outcome"], e["node"]) for e in mine} >= {
        ("admin.role.assign", "success", slug(org, "east")),
    }


def test_an_account_admin_cannot_touch_its_sibling_or_its_parent(
    org: dict[str, Any], operator: Api, person: Any, live_server: str
) -> None:
    admin = person("east")
    assert assign(operator, admin, "account-admin", None).status_code == 201  # default: the user's own node
    east = api(org, user_token(live_server, org, admin)["access_token"])
    assert node_slugs(east("GET", "/nodes")) == {slug(org, "east")}
    assert east("GET", f"/nodes/{slug(org, 'west')}").status_code == 403
    assert east("GET", f"/nodes/{slug(org, 'acme')}").status_code == 403
    sibling, parent = person("west"), person("acme")
    for other in (sibling, parent):
        assert east("GET", f"/users/{other['id']}").status_code == 404
        assert east("DELETE", f"/users/{other['id']}").status_code == 404
        assert east("GET", f"/users/{other['id']}/roles").status_code == 404
    colleague = person("east")
    assert assign(east, colleague, "account-admin", slug(org, "west")).status_code == 403
    assert assign(east, colleague, "organization-admin", slug(org, "acme")).status_code == 403
    assert assign(east, colleague, "account-admin", None).status_code == 201
    assert east("GET", "/roles/organization-admin").json()["holders"] == []  # holders above are not shown


def test_assignment_rules(org: dict[str, Any], operator: Api, person: Any) -> None:
    user = person("east")
    wrong_tier = assign(operator, user, "organization-admin", slug(org, "east"))
    assert wrong_tier.status_code == 400 and wrong_tier.json()["fields"] == {"node": "wrong_tier"}
    assert assign(operator, user, "no-such-role", None).status_code == 404
    assert assign(operator, user, "Bad Name", None).status_code == 400
    assert assign(operator, user, "account-admin", "no-such-node").status_code == 404
    assert assign(operator, user, "account-admin", None).status_code == 201
    again = assign(operator, user, "account-admin", None)
    assert again.status_code == 409
    held = operator("GET", f"/users/{user['id']}/roles")
    assert held.json()["roles"] == [
        {**held.json()["roles"][0], "role": "account-admin", "node": slug(org, "east"), "user": user["id"]}
    ]
    removed = operator("DELETE", f"/users/{user['id']}/roles/account-admin")
    assert removed.status_code == 204
    assert operator("DELETE", f"/users/{user['id']}/roles/account-admin").status_code == 404
    assert operator("GET", f"/users/{user['id']}/roles").json()["roles"] == []


def test_removing_a_role_or_disabling_the_user_ends_admin_rights_at_once(
    org: dict[str, Any], operator: Api, person: Any, live_server: str
) -> None:
    admin = person("globex")
    assert assign(operator, admin, "organization-admin", None).status_code == 201
    token = user_token(live_server, org, admin)["access_token"]
    globex = api(org, token)
    assert globex("GET", "/nodes").status_code == 200
    assert operator("DELETE", f"/users/{admin['id']}/roles/organization-admin").status_code == 204
    gone = globex("GET", "/nodes")
    assert gone.status_code == 403 and gone.json()["error"] == "forbidden"
    assert assign(operator, admin, "organization-admin", None).status_code == 201
    assert globex("GET", "/nodes").status_code == 200
    assert operator("POST", f"/users/{admin['id']}/disable").status_code == 200
    assert globex("GET", "/nodes").status_code == 401


def test_an_organization_console_limits_a_tenant_admin(
    org: dict[str, Any], operator: Api, person: Any, live_server: str
) -> None:
    boss = person("root")
    assert assign(operator, boss, "tenant-admin", None).status_code == 201
    everywhere = api(org, user_token(live_server, org, boss, "root")["access_token"])
    assert slug(org, "globex") in node_slugs(everywhere("GET", "/nodes"))
    through_acme = api(org, user_token(live_server, org, boss, "acme")["access_token"])
    assert slug(org, "globex") not in node_slugs(through_acme("GET", "/nodes"))
    assert through_acme("GET", f"/nodes/{slug(org, 'globex')}").status_code == 403


def test_custom_roles(org: dict[str, Any], operator: Api, person: Any, live_server: str) -> None:
    name = f"editor-{org['tag']}"
    created = operator("POST", "/roles", {"name": name, "description": "Edits content", "node": slug(org, "acme")})
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": name,
        "description": "Edits content",
        "builtin": False,
        "admin_tier": None,
        "node": slug(org, "acme"),
    }
    assert operator("POST", "/roles", {"name": name}).status_code == 409
    assert operator("POST", "/roles", {"name": "tenant-admin"}).status_code == 400
    roles = {r["name"] for r in operator("GET", "/roles").json()["roles"]}
    assert {"tenant-admin", "organization-admin", "account-admin", name} <= roles
    editor = person("east")
    outside = assign(operator, person("globex"), name, None)
    assert outside.status_code == 400 and outside.json()["fields"] == {"node": "out_of_scope"}
    assert assign(operator, editor, name, None).status_code == 201
    custom_only = api(org, user_token(live_server, org, editor)["access_token"])
    assert custom_only("GET", "/nodes").status_code == 403  # custom roles carry no admin rights
    busy = operator("DELETE", f"/roles/{name}")
    assert busy.status_code == 409
    # a sibling organization's admin does not even see the role; acme's admin cannot define tenant-wide ones
    globex_admin = person("globex")
    assert assign(operator, globex_admin, "organization-admin", None).status_code == 201
    globex = api(org, user_token(live_server, org, globex_admin)["access_token"])
    assert name not in {r["name"] for r in globex("GET", "/roles").json()["roles"]}
    assert globex("GET", f"/roles/{name}").status_code == 404
    assert globex("POST", "/roles", {"name": f"x-{org['tag']}"}).status_code == 403
    assert globex("POST", "/roles", {"name": f"g-{org['tag']}", "node": slug(org, "globex")}).status_code == 201
    assert operator("DELETE", f"/users/{editor['id']}/roles/{name}").status_code == 204
    assert operator("DELETE", f"/roles/{name}").status_code == 204
    assert operator("GET", f"/roles/{name}").status_code == 404
    assert operator("DELETE", "/roles/tenant-admin").status_code == 400


def test_deleting_a_user_drops_its_roles(org: dict[str, Any], operator: Api, person: Any) -> None:
    user = person("west")
    assert assign(operator, user, "account-admin", None).status_code == 201
    assert operator("DELETE", f"/users/{user['id']}").status_code == 204
    holders = operator("GET", "/roles/account-admin").json()["holders"]
    assert user["id"] not in {h["user"] for h in holders}


def test_user_admin_tokens_do_not_cross_tenants(
    org: dict[str, Any], operator: Api, person: Any, live_server: str, other_tenant: str
) -> None:
    admin = person("root")
    assert assign(operator, admin, "tenant-admin", None).status_code == 201
    token = user_token(live_server, org, admin)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/nodes", "/users", "/roles", "/audit"):
        assert (
            requests.get(f"{live_server}/t/{other_tenant}/admin{path}", headers=headers, timeout=10).status_code == 401
        )
    scim = requests.get(f"{live_server}/t/{org['tenant']}/scim/v2/Users", headers=headers, timeout=10)
    assert scim.status_code == 403  # SCIM stays for provisioning clients
