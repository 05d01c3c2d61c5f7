"""Issue 7's "done means", end to end: an operator creates an organization and an account under the demo tenant
with the CLI, gives a partner an organization-admin role, the partner gets a token from our token endpoint and
manages only their part, and an external system provisions users and groups over SCIM.

The CLI runs in-process (``chalicelib.cli.main``, the same parser and commands as ``./gatehouse``) against the
live test stack; everything the partner and the external system do goes over HTTP.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

import pytest
import requests

from tests.support.oidc_client import Provider, pkce_pair


@pytest.fixture
def gatehouse(capsys: pytest.CaptureFixture[str], demo: dict[str, Any]) -> Any:
    from chalicelib.cli import main

    def run(*args: str) -> dict[str, Any]:
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 0, err
        return dict(json.loads(out))

    return run


def test_an_operator_delegates_an_organization_to_a_partner(gatehouse: Any, live_server: str) -> None:
    tag = uuid.uuid4().hex[:6]
    org, shop, rival = f"partner-{tag}", f"shop-{tag}", f"rival-{tag}"
    callback = f"{live_server}/_local/callback"

    # the operator, with the CLI
    assert gatehouse("tenant", "create", org, "--parent", "demo", "--tier", "organization")["tier"] == "organization"
    assert gatehouse("tenant", "create", shop, "--parent", org, "--tier", "account")["tier"] == "account"
    gatehouse("tenant", "create", rival, "--parent", "demo", "--tier", "organization")
    console = gatehouse(
        "client", "create", "--tenant", "demo", "--name", "Admin console", "--type", "confidential",
        "--redirect-uri", callback, "--scope", "openid", "--scope", "email", "--scope", "admin", "--first-party",
    )  # fmt: skip
    password = f"Partner-{secrets.token_urlsafe(10)}"
    email = f"partner-{tag}@example.org"
    partner = gatehouse(
        "user", "create", "--tenant", "demo", "--email", email, "--password", password, "--verified",
        "--tier-node", org,
    )  # fmt: skip
    assigned = gatehouse("role", "assign", "--tenant", "demo", "--email", email, "--role", "organization-admin")
    assert assigned["tier_node"] == org  # the partner's own node by default
    listed = gatehouse("role", "list", "--tenant", "demo", "--email", email)
    assert listed["roles"] == [{"role": "organization-admin", "tier_node": org}]

    # the partner signs in to the admin console through our authorization and token endpoints
    op = Provider(live_server, "demo")
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": console["client_id"],
        "redirect_uri": callback,
        "scope": "openid email admin",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = op.sign_in(requests.Session(), params, email, password, consent="allow")["code"]
    tokens = op.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": callback, "code_verifier": verifier},
        auth=(console["client_id"], console["client_secret"]),
    ).json()
    assert "admin" in tokens["scope"].split()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    admin = f"{live_server}/t/demo/admin"

    def call(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{admin}{path}", json=body, headers=headers, timeout=10)

    # ... and manages only their part
    nodes = call("GET", "/nodes").json()["nodes"]
    assert {n["slug"] for n in nodes} == {org, shop}
    store = f"store-{tag}"
    assert call("POST", "/nodes", {"slug": store, "parent": org}).status_code == 201
    employee = call("POST", "/users", {"email": f"staff-{tag}@example.org", "node": shop, "verified": True})
    assert employee.status_code == 201 and employee.json()["node"] == shop
    assert call("POST", f"/users/{employee.json()['id']}/roles", {"role": "account-admin"}).status_code == 201
    for outside in ("demo", rival):
        assert call("GET", f"/nodes/{outside}").status_code == 403
        assert call("POST", "/users", {"email": f"x-{tag}@example.org", "node": outside}).status_code == 403
    alice = gatehouse("user", "show", "--tenant", "demo", "--email", "alice@example.com")
    assert call("GET", f"/users/{alice['user_id']}").status_code == 404
    assert call("POST", f"/users/{alice['user_id']}/roles", {"role": "tenant-admin"}).status_code == 404
    assert (
        call("POST", f"/users/{partner['user_id']}/roles", {"role": "tenant-admin", "node": "demo"}).status_code == 403
    )
    events = call("GET", "/audit").json()["events"]
    assert {e["type"] for e in events if e["actor"] == f"user:{partner['user_id']}"} >= {
        "admin.node.create",
        "admin.user.create",
        "admin.role.assign",
    }

    # an external HR system provisions users and groups over SCIM with its own service client
    hr = gatehouse("client", "create", "--tenant", "demo", "--name", "HR sync", "--type", "service", "--scope", "scim")
    scim_token = op.token(
        {"grant_type": "client_credentials", "scope": "scim"}, auth=(hr["client_id"], hr["client_secret"])
    ).json()["access_token"]
    scim_headers = {"Authorization": f"Bearer {scim_token}", "Content-Type": "application/scim+json"}
    scim = f"{live_server}/t/demo/scim/v2"
    user = requests.post(
        f"{scim}/Users",
        data=json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"hr-{tag}@example.org",
                "name": {"givenName": "Hana", "familyName": "Rossi"},
                "active": True,
            }
        ),
        headers=scim_headers,
        timeout=10,
    )
    assert user.status_code == 201, user.text
    group = requests.post(
        f"{scim}/Groups",
        data=json.dumps(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": f"Sales {tag}",
                "members": [{"value": user.json()["id"]}],
            }
        ),
        headers=scim_headers,
        timeout=10,
    )
    assert group.status_code == 201, group.text
    found = requests.get(
        f"{scim}/Users", params={"filter": f'userName eq "HR-{tag}@example.org"'}, headers=scim_headers, timeout=10
    )
    assert found.json()["totalResults"] == 1
    # the partner's admin token is no provisioning token
    assert requests.get(f"{scim}/Users", headers=headers, timeout=10).status_code == 403
