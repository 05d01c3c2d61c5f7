"""Managing the tenant hierarchy over real HTTP (and the CLI): rename, re-slug, own settings validated by
core/settings with effective values and their provenance, disable (a disabled node's clients and users cannot
sign in, its users are signed out), enable, delete only when empty; each scoped to the admin's tier."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import requests

from tests.e2e.admin.test_admin_nodes import admin_token
from tests.support.admin_api import bearer_api
from tests.support.oidc_client import Page, Provider, pkce_pair
from tests.support.tenants import new_org_tree


@pytest.fixture
def org(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    """A fresh tenant: acme (organization) with accounts east and west, and a sibling organization globex."""
    slug, tag = new_org_tree("tiers2")
    names = {n: f"{n}-{tag}" for n in ("acme", "globex", "east", "west")}
    return {"tenant": slug, "tag": tag, "base": f"{live_server}/t/{slug}/admin", "root": slug, **names}


def admin(live_server: str, org: dict[str, Any], at: str | None) -> Any:
    return bearer_api(org["base"], admin_token(live_server, org["tenant"], at))


def test_rename_reslug_and_edit_settings(org: dict[str, Any], live_server: str) -> None:
    root, acme = admin(live_server, org, None), admin(live_server, org, org["acme"])
    renamed = acme("PATCH", f"/nodes/{org['acme']}", {"name": "Acme Europe"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Europe"
    # an organization admin edits its own settings; its accounts inherit them, with provenance
    edited = acme("PATCH", f"/nodes/{org['acme']}", {"settings": {"branding": {"primary_color": "#00aa00"}}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["settings"] == {"branding": {"primary_color": "#00aa00"}}
    east = acme("GET", f"/nodes/{org['east']}").json()
    assert east["effective"]["branding"]["primary_color"] == "#00aa00"
    assert east["sources"]["branding.primary_color"] == org["acme"]
    assert east["sources"]["branding.logo_url"] == "default"
    for bad in ({"bogus": {}}, {"tokens": {"access_token_alg": "HS256"}}, {"password_policy": {"min_length": "x"}}):
        refused = acme("PATCH", f"/nodes/{org['east']}", {"settings": bad})
        assert refused.status_code == 400 and "settings" in refused.json()["fields"], refused.text
    assert acme("PATCH", f"/nodes/{org['east']}", {"status": "disabled"}).status_code == 400
    # the slug is the parent's business; unique in the tenant; old URLs stop, new ones work
    assert acme("PATCH", f"/nodes/{org['acme']}", {"slug": f"acme2-{org['tag']}"}).status_code == 403
    assert root("PATCH", f"/nodes/{org['acme']}", {"slug": org["globex"]}).json()["fields"] == {"slug": "taken"}
    assert root("PATCH", f"/nodes/{org['acme']}", {"slug": "Bad Slug"}).status_code == 400
    assert root("PATCH", f"/nodes/{org['root']}", {"slug": f"x-{org['tag']}"}).status_code == 403
    new_slug = f"acme-eu-{org['tag']}"
    moved = root("PATCH", f"/nodes/{org['acme']}", {"slug": new_slug})
    assert moved.status_code == 200 and moved.json()["slug"] == new_slug and moved.json()["name"] == "Acme Europe"
    assert root("GET", f"/nodes/{org['acme']}").status_code == 404
    assert root("GET", f"/nodes/{new_slug}").json()["settings"] == {"branding": {"primary_color": "#00aa00"}}
    assert root("GET", f"/nodes/{org['east']}").json()["parent"] == new_slug
    # the old slug is free again
    assert root("POST", "/nodes", {"slug": org["acme"]}).status_code == 201
    events = {e["type"] for e in root("GET", "/audit").json()["events"]}
    assert {"admin.node.update"} <= events


def test_delete_only_when_empty_and_only_from_above(org: dict[str, Any], live_server: str) -> None:
    root, acme, east = (admin(live_server, org, at) for at in (None, org["acme"], org["east"]))
    assert east("DELETE", f"/nodes/{org['west']}").status_code == 403
    assert east("DELETE", f"/nodes/{org['east']}").status_code == 403  # not its own node either
    assert acme("DELETE", f"/nodes/{org['acme']}").status_code == 403
    busy = root("DELETE", f"/nodes/{org['acme']}")
    assert busy.status_code == 409 and "2 nodes" in busy.json()["error_description"]
    user = root("POST", "/users", {"email": f"w-{org['tag']}@example.org", "node": org["west"], "verified": True})
    busy = acme("DELETE", f"/nodes/{org['west']}")
    assert busy.status_code == 409 and "1 users" in busy.json()["error_description"]
    assert acme("DELETE", f"/users/{user.json()['id']}").status_code == 204
    assert acme("DELETE", f"/nodes/{org['west']}").status_code == 204
    assert acme("GET", f"/nodes/{org['west']}").status_code == 404
    assert root("DELETE", f"/nodes/{org['root']}").status_code == 403
    deleted = [e for e in root("GET", "/audit").json()["events"] if e["type"] == "admin.node.delete"]
    assert {(e["target"], e["outcome"]) for e in deleted} >= {(org["west"], "success"), (org["acme"], "failure")}


def _sign_in(live_server: str, org: dict[str, Any], client: Any, user: dict[str, Any]) -> requests.Response:
    op = Provider(live_server, org["tenant"])
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client[0],
        "redirect_uri": f"{live_server}/_local/callback",
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    browser = requests.Session()
    page = op.authorize(browser, params)
    if page.status_code != 200 or not Page.parse(page).has_form("/login"):
        return page
    return op.login(browser, page, user["email"], user["password"])


def _got_code(response: requests.Response) -> bool:
    return response.status_code in (302, 303) and "code=" in response.headers["Location"]


def test_a_disabled_node_signs_everyone_out_and_lets_nobody_in(org: dict[str, Any], live_server: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(org["tenant"])
    root, acme = admin(live_server, org, None), admin(live_server, org, org["acme"])
    east_node = container.tenants().resolve_node(tenant_id, org["east"])
    app, app_secret = container.clients().create(
        tenant_id,
        name="east app",
        client_type="confidential",
        redirect_uris=[f"{live_server}/_local/callback"],
        tier_node_id=east_node.node_id,
    )
    root_app, _ = container.clients().create(
        tenant_id,
        name="root app",
        client_type="public",
        redirect_uris=[f"{live_server}/_local/callback"],
        first_party=True,
    )
    service, service_secret = container.clients().create(
        tenant_id, name="east svc", client_type="service", scopes=["x"], tier_node_id=east_node.node_id
    )
    password = f"Pw-{secrets.token_urlsafe(10)}"
    user = root(
        "POST",
        "/users",
        {"email": f"e-{org['tag']}@example.org", "node": org["east"], "verified": True, "password": password},
    ).json()
    user["password"] = password
    assert _got_code(_sign_in(live_server, org, (root_app.client_id,), user))
    token_url = f"{live_server}/t/{org['tenant']}/token"
    assert (
        requests.post(
            token_url, data={"grant_type": "client_credentials"}, auth=(service.client_id, service_secret)
        ).status_code
        == 200
    )

    disabled = acme("POST", f"/nodes/{org['east']}/disable")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert disabled.json()["signed_out"] == {"users": 1, "sessions": 1, "grants": 0}
    refused = requests.post(
        token_url, data={"grant_type": "client_credentials"}, auth=(service.client_id, service_secret)
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert _sign_in(live_server, org, (app.client_id,), user).status_code == 400  # the client is disabled
    login = _sign_in(live_server, org, (root_app.client_id,), user)  # a root client, but the user's node is off
    assert login.status_code == 403 and "code=" not in login.headers.get("Location", "")
    assert acme("POST", f"/nodes/{org['east']}/frobnicate").status_code == 404
    enabled = acme("POST", f"/nodes/{org['east']}/enable")
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    assert _got_code(_sign_in(live_server, org, (root_app.client_id,), user))
    assert app_secret and Page.parse(_sign_in(live_server, org, (app.client_id,), user)).has_form("/consent")
    assert admin(live_server, org, org["east"])("POST", f"/nodes/{org['east']}/disable").status_code == 403
    assert acme("POST", f"/nodes/{org['acme']}/disable").status_code == 403  # not its own organization


def test_the_cli_manages_nodes(org: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.cli import main

    def run(*args: str, ok: bool = True) -> dict[str, Any]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert (code == 0) == ok, err
        return dict(json.loads(out)) if ok else {"error": err}

    tenant = org["tenant"]
    shown = run(
        "tenant",
        "update",
        org["acme"],
        "--tenant",
        tenant,
        "--name",
        "ACME",
        "--settings",
        '{"mfa": {"mode": "required"}}',
    )
    assert shown["name"] == "ACME" and shown["settings"] == {"mfa": {"mode": "required"}}
    east = run("tenant", "settings", org["east"], "--tenant", tenant)
    assert east["effective"]["mfa"]["mode"] == "required" and east["sources"]["mfa.mode"] == org["acme"]
    assert (
        "unknown setting"
        in run("tenant", "update", org["east"], "--tenant", tenant, "--settings", '{"mfa": {"x": 1}}', ok=False)[
            "error"
        ]
    )
    assert run("tenant", "disable", org["west"], "--tenant", tenant)["status"] == "disabled"
    assert run("tenant", "enable", org["west"], "--tenant", tenant)["status"] == "active"
    assert "not empty" in run("tenant", "delete", org["acme"], "--tenant", tenant, ok=False)["error"]
    assert run("tenant", "delete", org["west"], "--tenant", tenant)["deleted"] is True
    renamed = run("tenant", "update", org["east"], "--tenant", tenant, "--new-slug", f"oriente-{org['tag']}")
    assert renamed["slug"] == f"oriente-{org['tag']}" and renamed["parent"] == org["acme"]
