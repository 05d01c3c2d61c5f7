"""Identity-provider integrations over the admin API (tier-scoped, audited, secrets write-only) and the
operator CLI (``idp add-saml|add-oidc|list|remove``, run in-process against the live stack)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.saml_metadata import idp_metadata


def _api(base: str, token: str) -> Callable[..., requests.Response]:
    def send(method: str, path: str = "", body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(method, f"{base}/admin/idps{path}", json=body, headers=headers, timeout=10)

    return send


def _saml(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "saml", "saml": {"metadata": idp_metadata()}, **extra}


def _oidc(name: str, **extra: Any) -> dict[str, Any]:
    part = {"issuer": "https://op.example.com", "client_id": "rp", "client_secret": "top-secret-value"}
    return {"name": name, "kind": "oidc", "oidc": part, **extra}


def test_admin_creates_lists_shows_updates_and_deletes(tenant: dict[str, Any], admin_token: Any) -> None:
    api = _api(tenant["base"], admin_token(tenant["tenant"]))
    created = api("POST", body=_saml("corp", node=tenant["nodes"]["org"], domains=["corp.example"]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["node"] == tenant["nodes"]["org"] and body["saml"]["idp_entity_id"] == "https://idp.example.com/saml"
    assert body["saml"]["acs_url"] == f"{tenant['base']}/saml/corp/acs"
    assert created.headers["Location"].endswith("/admin/idps/corp")
    social = api("POST", body=_oidc("social"))
    assert social.status_code == 201, social.text
    assert social.json()["oidc"]["client_secret_set"] is True and "top-secret-value" not in social.text
    assert social.json()["oidc"]["redirect_uri"] == f"{tenant['base']}/federation/social/callback"

    listed = api("GET")
    assert [i["name"] for i in listed.json()["identity_providers"]] == ["corp", "social"]
    assert "metadata" not in listed.json()["identity_providers"][0]["saml"]
    shown = api("GET", "/corp")
    assert shown.status_code == 200 and "EntityDescriptor" in shown.json()["saml"]["metadata"]

    patched = api("PATCH", "/corp", {"enabled": False, "linking": "none", "role_mapping": {"admins": ["admin"]}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False and patched.json()["role_mapping"] == {"admins": ["admin"]}
    assert api("PATCH", "/corp", {"name": "renamed"}).status_code == 400

    assert api("POST", body=_oidc("corp")).status_code == 409
    assert api("DELETE", "/corp").status_code == 204
    assert api("GET", "/corp").status_code == 404
    assert api("DELETE", "/corp").status_code == 404


def test_invalid_documents_get_admin_json_errors(tenant: dict[str, Any], admin_token: Any) -> None:
    api = _api(tenant["base"], admin_token(tenant["tenant"]))
    doctype = '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><md:EntityDescriptor/>'
    bad = api("POST", body={"name": "corp", "kind": "saml", "saml": {"metadata": doctype}})
    assert bad.status_code == 400 and bad.json()["fields"] == {"metadata": "invalid"}
    oversize = api("POST", body={"name": "big", "kind": "saml", "saml": {"metadata": "<a/>" + " " * 70_000}})
    assert oversize.status_code == 413 and oversize.json()["error"] == "invalid_request"  # request body limit
    assert api("POST", body={"name": "Bad Name", "kind": "oidc"}).json()["fields"] == {"name": "invalid"}
    assert api("POST", body=["not", "an", "object"]).status_code == 400
    unknown_node = api("POST", body=_saml("corp", node="nowhere"))
    assert unknown_node.status_code == 404


def test_an_organization_admin_manages_only_its_subtree(tenant: dict[str, Any], admin_token: Any) -> None:
    nodes = tenant["nodes"]
    root = _api(tenant["base"], admin_token(tenant["tenant"]))
    assert root("POST", body=_saml("top")).status_code == 201
    assert root("POST", body=_saml("beside", node=nodes["other"])).status_code == 201
    org = _api(tenant["base"], admin_token(tenant["tenant"], nodes["org"]))
    assert org("POST", body=_saml("mine", node=nodes["acc"])).status_code == 201
    assert org("POST", body=_saml("above", node=tenant["tenant"])).status_code == 403
    assert [i["name"] for i in org("GET").json()["identity_providers"]] == ["mine"]
    for name in ("top", "beside"):
        assert org("GET", f"/{name}").status_code == 404
        assert org("PATCH", f"/{name}", {"enabled": False}).status_code == 404
        assert org("DELETE", f"/{name}").status_code == 404
    assert root("GET", "/top").json()["enabled"] is True


def test_integrations_are_isolated_per_tenant(tenant: dict[str, Any], admin_token: Any, live_server: str) -> None:
    from chalicelib import container

    other = f"{tenant['tenant']}-x"
    container.tenants().create_customer(other)
    container.signing_keys().ensure_keys(other)  # type: ignore[arg-type]
    mine = _api(tenant["base"], admin_token(tenant["tenant"]))
    theirs = _api(f"{live_server}/t/{other}", admin_token(other))
    assert mine("POST", body=_saml("corp")).status_code == 201
    assert theirs("GET", "/corp").status_code == 404
    assert theirs("GET").json()["identity_providers"] == []
    assert theirs("POST", body=_saml("corp")).status_code == 201  # the same name in another tenant
    foreign = requests.get(
        f"{tenant['base']}/admin/idps", headers={"Authorization": f"Bearer {admin_token(other)}"}, timeout=10
    )
    assert foreign.status_code == 401


def test_admin_writes_are_audited(tenant: dict[str, Any], admin_token: Any) -> None:
    token = admin_token(tenant["tenant"])
    api = _api(tenant["base"], token)
    api("POST", body=_oidc("social"))
    api("DELETE", "/social")
    events = requests.get(
        f"{tenant['base']}/admin/audit", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()["events"]
    actions = [(e["type"], e["target"], e["outcome"]) for e in events]
    assert ("admin.idp.create", "social", "success") in actions and ("admin.idp.delete", "social", "success") in actions
    assert "top-secret-value" not in json.dumps(events)


def test_operator_cli_adds_lists_and_removes(
    tenant: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.cli import main

    def run(*args: str) -> tuple[int, Any]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, json.loads(out.out) if code == 0 else out.err

    metadata = tmp_path / "idp.xml"
    metadata.write_text(idp_metadata())
    t = tenant["tenant"]
    code, saml = run(
        "idp",
        "add-saml",
        "--tenant",
        t,
        "--name",
        "corp",
        "--metadata",
        str(metadata),
        "--tier-node",
        tenant["nodes"]["org"],
        "--allow-unsolicited",
        "--domain",
        "corp.example",
    )
    assert code == 0, saml
    assert saml["sp_entity_id"] == f"{tenant['base']}/saml/corp/metadata" == saml["metadata_url"]
    assert saml["acs_url"] == f"{tenant['base']}/saml/corp/acs" and saml["tier_node"] == tenant["nodes"]["org"]
    code, oidc = run(
        "idp",
        "add-oidc",
        "--tenant",
        t,
        "--name",
        "social",
        "--issuer",
        "https://op.example.com",
        "--client-id",
        "rp",
        "--client-secret",
        "cli-secret-value",
    )
    assert code == 0, oidc
    assert oidc["redirect_uri"] == f"{tenant['base']}/federation/social/callback"
    assert "cli-secret-value" not in json.dumps(oidc)
    code, listed = run("idp", "list", "--tenant", t)
    assert [i["name"] for i in listed["identity_providers"]] == ["corp", "social"]
    assert listed["identity_providers"][0]["saml"]["allow_unsolicited"] is True
    code, error = run("idp", "add-saml", "--tenant", t, "--name", "corp", "--metadata", str(metadata))
    assert code == 1 and "already exists" in error
    bad = tmp_path / "bad.xml"
    bad.write_text("<unclosed>")
    code, error = run("idp", "add-saml", "--tenant", t, "--name", "bad", "--metadata", str(bad))
    assert code == 1 and "well-formed" in error
    code, removed = run("idp", "remove", "--tenant", t, "--name", "social")
    assert code == 0 and removed == {"name": "social", "removed": True}
    code, error = run("idp", "remove", "--tenant", t, "--name", "social")
    assert code == 1


def test_only_a_root_admin_manages_the_webhook(tenant: dict[str, Any], admin_token: Any) -> None:
    token = admin_token(tenant["tenant"])
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{tenant['base']}/admin/webhook"
    assert requests.get(url, headers=headers, timeout=10).json() == {"url": None}
    bad = requests.put(url, json={"url": "http://hooks.example.com/x"}, headers=headers, timeout=10)
    assert bad.status_code == 400 and bad.json()["fields"] == {"url": "invalid"}
    put = requests.put(url, json={"url": "https://hooks.example.com/x"}, headers=headers, timeout=10)
    assert put.status_code == 200 and len(put.json()["secret"]) >= 43
    shown = requests.get(url, headers=headers, timeout=10)
    assert shown.json() == {"url": "https://hooks.example.com/x"} and put.json()["secret"] not in shown.text
    org = {"Authorization": f"Bearer {admin_token(tenant['tenant'], tenant['nodes']['org'])}"}
    assert requests.get(url, headers=org, timeout=10).status_code == 403
    assert requests.delete(url, headers=headers, timeout=10).status_code == 204
    assert requests.delete(url, headers=headers, timeout=10).status_code == 404
    events = requests.get(f"{tenant['base']}/admin/audit", headers=headers, timeout=10).text
    assert "admin.webhook.set" in events and put.json()["secret"] not in events
