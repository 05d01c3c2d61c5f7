"""Admin API for users over real HTTP: tier scoping (an organization admin manages the users of its
organization and its accounts; an account admin cannot touch its sibling's or its parent's users), listing with
filters and cursor pagination, create/show/update/disable/enable/delete, revocation of sessions and tokens,
validation errors in one JSON format, tenant isolation, and one audit event per write."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.admin.test_admin_nodes import admin_token
from tests.support.admin_api import bearer_api
from tests.support.oidc_client import Provider, pkce_pair
from tests.support.tenants import new_org_tree


@pytest.fixture(scope="module")
def org(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    """A fresh tenant: acme (organization) with accounts east and west, and a sibling organization globex."""
    slug, tag = new_org_tree("users")
    return {"tenant": slug, "base": f"{live_server}/t/{slug}/admin", "tag": tag}


def node(org: dict[str, Any], name: str) -> str:
    return org["tenant"] if name == "root" else f"{name}-{org['tag']}"


def api(org: dict[str, Any], live_server: str, at: str) -> Callable[..., requests.Response]:
    token = admin_token(live_server, org["tenant"], None if at == "root" else node(org, at))

    send = bearer_api(f"{org['base']}/users", token)
    send.token = token  # type: ignore[attr-defined]
    return send


@pytest.fixture(scope="module")
def admins(org: dict[str, Any], live_server: str) -> dict[str, Callable[..., requests.Response]]:
    return {name: api(org, live_server, name) for name in ("root", "acme", "east", "west", "globex")}


def email(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.org"


@pytest.fixture(scope="module")
def people(org: dict[str, Any], admins: dict[str, Any]) -> dict[str, dict[str, Any]]:
    made = {}
    for where in ("root", "acme", "east", "west", "globex"):
        response = admins["root"]("POST", body={"email": email(where), "node": node(org, where), "verified": True})
        assert response.status_code == 201, response.text
        made[where] = response.json()
    return made


def ids(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {u["id"] for u in response.json()["users"]}


def test_create_show_and_defaults(org: dict[str, Any], admins: dict[str, Any]) -> None:
    address = email("Mixed").replace("mixed", "MiXeD")
    created = admins["acme"]("POST", body={"email": address, "profile": {"given_name": "Ada"}})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == address.lower() and user["node"] == node(org, "acme")  # default: the admin's node
    assert user["status"] == "pending" and user["email_verified"] is False and user["profile"] == {"given_name": "Ada"}
    assert created.headers["Location"].endswith(f"/t/{org['tenant']}/admin/users/{user['id']}")
    assert "password" not in created.text
    shown = admins["acme"]("GET", f"/{user['id']}")
    assert shown.status_code == 200 and shown.json() == user
    verified = admins["east"]("POST", body={"email": email(), "verified": True, "password": "Correct-horse-battery-9"})
    assert verified.status_code == 201 and verified.json()["status"] == "active"


def test_tier_scoping_of_every_user_right(org: dict[str, Any], admins: dict[str, Any], people: dict[str, Any]) -> None:
    everyone = {p["id"] for p in people.values()}
    assert everyone <= ids(admins["root"]("GET", limit=200))
    assert {people[n]["id"] for n in ("acme", "east", "west")} <= ids(admins["acme"]("GET", limit=200))
    assert not {people[n]["id"] for n in ("root", "globex")} & ids(admins["acme"]("GET", limit=200))
    assert people["east"]["id"] in ids(admins["east"]("GET"))
    assert not {people[n]["id"] for n in ("root", "acme", "west", "globex")} & ids(admins["east"]("GET", limit=200))
    east = admins["east"]
    for victim in ("west", "acme", "root"):
        path = f"/{people[victim]['id']}"
        responses = [
            east("GET", path),
            east("PATCH", path, {"profile": {"name": "pwned"}}),
            east("POST", f"{path}/disable"),
            east("POST", f"{path}/revoke-sessions"),
            east("DELETE", path),
        ]
        assert [r.status_code for r in responses] == [404] * 5, [r.text for r in responses]
        assert all(r.json()["error"] == "not_found" for r in responses)
    for parent in ("acme", "west", "root"):
        refused = east("POST", body={"email": email(), "node": node(org, parent)})
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    # nothing changed
    west = admins["root"]("GET", f"/{people['west']['id']}").json()
    assert west["status"] == "active" and west["profile"] == {}


def test_list_filters_and_cursor_pagination(org: dict[str, Any], admins: dict[str, Any]) -> None:
    prefix = f"page{uuid.uuid4().hex[:6]}"
    made = [
        admins["west"]("POST", body={"email": f"{prefix}-{i}@example.org", "verified": i % 2 == 0}).json()["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"email": prefix, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admins["west"]("GET", **params)
        assert page.status_code == 200, page.text
        assert len(page.json()["users"]) <= 2
        seen += [u["id"] for u in page.json()["users"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    # each exactly once, in the order of the whole list (oldest first)
    whole = admins["west"]("GET", email=prefix).json()
    assert seen == [u["id"] for u in whole["users"]] and sorted(seen) == sorted(made) and whole["next_cursor"] is None
    pending = admins["west"]("GET", email=prefix.upper(), status="pending")
    assert sorted(u["id"] for u in pending.json()["users"]) == sorted([made[1], made[3]])
    for bad in ({"status": "gone"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "%%%"}):
        response = admins["west"]("GET", **bad)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text


def test_validation_errors(org: dict[str, Any], admins: dict[str, Any], people: dict[str, Any]) -> None:
    root = admins["root"]
    cases = [
        ({"email": "not-an-email"}, {"email": "invalid"}),
        ({"email": email(), "password": "short"}, {"password": "too_short"}),
        ({"email": email(), "verified": "yes"}, {"verified": "invalid"}),
        ({"email": email(), "profile": {"is_admin": True}}, {"profile": "unknown_claim"}),
        ({"email": email(), "profile": "x"}, {"profile": "invalid"}),
    ]
    for body, fields in cases:
        response = root("POST", body=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request" and response.json()["fields"] == fields
    taken = root("POST", body={"email": people["east"]["email"].upper()})
    assert taken.status_code == 409 and taken.json()["error"] == "conflict"
    assert root("POST", body={"email": email(), "node": "nowhere"}).status_code == 404
    raw = requests.post(
        f"{org['base']}/users",
        data="{",
        headers={
            "Authorization": f"Bearer {root.token}",  # type: ignore[attr-defined]
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert raw.status_code == 400 and raw.json()["error"] == "invalid_request"
    path = f"/{people['root']['id']}"
    assert root("PATCH", path, {"email": "x@example.org"}).json()["fields"] == {"profile": "required"}
    assert root("PATCH", path, {"profile": {"name": 5}}).status_code == 400
    assert root("POST", f"{path}/frobnicate").status_code == 404
    assert root("PUT", path, {}).status_code == 405


def test_update_disable_enable_and_delete(org: dict[str, Any], admins: dict[str, Any]) -> None:
    acme = admins["acme"]
    user = acme(
        "POST",
        body={
            "email": email(),
            "node": node(org, "east"),
            "verified": True,
            "profile": {"name": "Old", "nickname": "o"},
        },
    ).json()
    path = f"/{user['id']}"
    updated = acme("PATCH", path, {"profile": {"name": "New", "nickname": None}})
    assert updated.status_code == 200 and updated.json()["profile"] == {"name": "New"}
    disabled = acme("POST", f"{path}/disable")
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert acme("GET", status="disabled", limit=200).json()["users"][-1]["id"] == user["id"]
    enabled = acme("POST", f"{path}/enable")
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    assert acme("DELETE", path).status_code == 204
    assert acme("GET", path).status_code == 404
    assert acme("DELETE", path).status_code == 404
    # the email is free again: the guard went with the user
    assert acme("POST", body={"email": user["email"]}).status_code == 201


@pytest.fixture
def signed_in(org: dict[str, Any], admins: dict[str, Any], live_server: str) -> Callable[[], dict[str, Any]]:
    """A verified user of the east account signed in through the hosted login, with tokens of a client."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    redirect = f"{live_server}/_local/callback"
    client, secret = container.clients().create(
        TenantId(org["tenant"]),
        name="app",
        client_type="confidential",
        redirect_uris=[redirect],
        first_party=True,
        scopes=["openid", "email", "offline_access"],
        client_id=f"app-{uuid.uuid4().hex[:8]}",
    )
    assert secret is not None

    def sign_in() -> dict[str, Any]:
        password = f"Pw-{secrets.token_urlsafe(12)}"
        user = admins["east"]("POST", body={"email": email(), "verified": True, "password": password}).json()
        op = Provider(live_server, org["tenant"])
        verifier, challenge = pkce_pair()
        browser = requests.Session()
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect,
            "scope": "openid email offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "s",
            "nonce": "n",
            "prompt": "consent",
        }
        code = op.sign_in(browser, params, user["email"], password, consent="allow")["code"]
        tokens = op.token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier},
            auth=(client.client_id, secret),
        )
        assert tokens.status_code == 200, tokens.text
        return {
            "user": user,
            "op": op,
            "browser": browser,
            "params": params,
            "auth": (client.client_id, secret),
            **tokens.json(),
        }

    return sign_in


def _signed_out(session: dict[str, Any]) -> None:
    op: Provider = session["op"]
    assert op.userinfo(session["access_token"]).status_code == 401
    refreshed = op.token(
        {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}, auth=session["auth"]
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    again = op.authorize(session["browser"], {**session["params"], "prompt": "none"})
    assert "code=" not in again.headers.get("Location", "")


@pytest.mark.parametrize("action", ["disable", "revoke-sessions", "delete"])
def test_disable_revoke_and_delete_end_sessions_and_tokens(
    admins: dict[str, Any], signed_in: Callable[[], dict[str, Any]], action: str
) -> None:
    session = signed_in()
    assert session["op"].userinfo(session["access_token"]).status_code == 200
    path = f"/{session['user']['id']}"
    if action == "delete":
        response = admins["east"]("DELETE", path)
        assert response.status_code == 204, response.text
    else:
        response = admins["east"]("POST", f"{path}/{action}")
        assert response.status_code == 200, response.text
        if action == "revoke-sessions":
            assert response.json()["revoked"] == {"sessions": 1, "grants": 1}
    _signed_out(session)


def test_other_tenants_and_non_admin_tokens_are_refused(
    org: dict[str, Any], admins: dict[str, Any], people: dict[str, Any], other_tenant: str, live_server: str
) -> None:
    other = admin_token(live_server, other_tenant, None)
    headers = {"Authorization": f"Bearer {other}"}
    path = f"{org['base']}/users/{people['east']['id']}"
    assert requests.get(f"{org['base']}/users", headers=headers, timeout=10).status_code == 401
    assert requests.get(path, headers=headers, timeout=10).status_code == 401
    assert requests.delete(path, headers=headers, timeout=10).status_code == 401
    at_other = requests.get(
        f"{live_server}/t/{other_tenant}/admin/users/{people['east']['id']}", headers=headers, timeout=10
    )
    assert at_other.status_code == 404
    scim_only = admin_token(live_server, org["tenant"], None, ("scim",))
    refused = requests.get(f"{org['base']}/users", headers={"Authorization": f"Bearer {scim_only}"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert admins["root"]("GET", f"/{people['east']['id']}").json()["status"] == "active"


def test_each_write_is_one_audit_event_without_secrets(org: dict[str, Any], admins: dict[str, Any]) -> None:
    root_token = admins["root"].token  # type: ignore[attr-defined]

    def trail() -> list[dict[str, Any]]:
        response = requests.get(
            f"{org['base']}/audit",
            params={"type": "admin.user.", "limit": 200},
            headers={"Authorization": f"Bearer {root_token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])

    password = f"Pw-{secrets.token_urlsafe(12)}"
    acme = admins["acme"]
    before = trail()
    created = acme("POST", body={"email": email(), "node": node(org, "west"), "password": password})
    user_id = created.json()["id"]
    path = f"/{user_id}"
    writes = [
        ("admin.user.update", lambda: acme("PATCH", path, {"profile": {"name": "N"}})),
        ("admin.user.disable", lambda: acme("POST", f"{path}/disable")),
        ("admin.user.enable", lambda: acme("POST", f"{path}/enable")),
        ("admin.user.revoke_sessions", lambda: acme("POST", f"{path}/revoke-sessions")),
        ("admin.user.delete", lambda: acme("DELETE", path)),
    ]
    for _, write in writes:
        assert write().status_code in (200, 204)
    new = [e for e in trail() if e["id"] not in {b["id"] for b in before}]
    expected = ["admin.user.create"] + [action for action, _ in writes]
    assert [e["type"] for e in reversed(new)] == expected
    actor = new[0]["actor"]
    assert all(e["target"] == user_id and e["node"] == node(org, "west") and e["outcome"] == "success" for e in new)
    assert all(e["actor"] == actor and actor.startswith("adm-") for e in new)
    listed = requests.get(
        f"{org['base']}/audit", params={"limit": 200}, headers={"Authorization": f"Bearer {root_token}"}, timeout=10
    ).text
    assert password not in listed and root_token not in listed and "password" not in listed


def test_reset_mfa_removes_every_factor_within_reach_only(
    org: dict[str, Any], admins: dict[str, Any], people: dict[str, dict[str, Any]]
) -> None:
    from chalicelib import container
    from chalicelib.core import clock
    from chalicelib.core.ids import TenantId, UserId

    tenant_id = TenantId(org["tenant"])
    created = admins["root"]("POST", body={"email": email("mfa"), "node": node(org, "east"), "verified": True})
    assert created.status_code == 201, created.text
    user_id = UserId(created.json()["id"])
    user = container.accounts().get(tenant_id, user_id)
    mfa = container.mfa()
    mfa.begin_totp(tenant_id, user, issuer="test")  # a pending authenticator app
    container._mfa_repository().replace_recovery(mfa._recovery_enrollment(tenant_id, user, ["a" * 10], clock.now()))
    assert container.accounts().get(tenant_id, user_id).mfa_factors  # the active recovery codes

    # A sibling's admin cannot even see the user; the user's own account admin can reset it.
    assert admins["west"]("POST", f"/{user_id}/reset-mfa").status_code == 404
    reset = admins["east"]("POST", f"/{user_id}/reset-mfa")
    assert reset.status_code == 200, reset.text
    assert reset.json() == {"id": user_id, "factors_removed": 2}
    after = container.accounts().get(tenant_id, user_id)
    assert after.mfa_factors == () and after.devices_forgotten_at > 0
    assert mfa.enrollments(tenant_id, after, active_only=False) == []
    events = container.audit().list(tenant_id, action="admin.user.reset_mfa")[0]
    assert [(e.target_id, e.outcome, e.details.get("factors_removed")) for e in events] == [
        (user_id, "success", 2),
        (user_id, "failure", None),  # the sibling admin's refused attempt is on record too
    ]
