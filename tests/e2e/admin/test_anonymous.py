"""Anonymous access over real HTTP: a tier setting allows it for the clients of that node; the identity has its
own ``sub``, no profile, only the allowed scopes and a short life, stays out of user lists, and upgrades to a
registered account (email verified through the registration workflow) that keeps the ``sub``."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

import pytest
import requests

from tests.e2e.admin.test_admin_nodes import admin_token
from tests.e2e.registration.conftest import token_link, wait_for_mail
from tests.support.oidc_client import Page, Provider, jwt_claims, pkce_pair, verify_id_token


@pytest.fixture(scope="module")
def site(live_server: str, demo: dict[str, Any]) -> dict[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tag = uuid.uuid4().hex[:8]
    slug = f"anon-{tag}"
    tenant_id = TenantId(slug)
    container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(tenant_id)
    demo_node = container.tenants().create_child(tenant_id, None, f"demos-{tag}")
    container.tenants().update_node(
        tenant_id,
        demo_node.node_id,
        settings={"anonymous": {"enabled": True, "scopes": ["openid", "offline_access"], "lifetime_seconds": 900}},
    )
    callback = f"{live_server}/_local/callback"
    game, _ = container.clients().create(
        tenant_id,
        name="demo game",
        client_type="public",
        redirect_uris=[callback],
        tier_node_id=demo_node.node_id,
        first_party=True,
        scopes=["openid", "email", "offline_access"],
    )
    shop, _ = container.clients().create(tenant_id, name="shop", client_type="public", redirect_uris=[callback])
    return {"tenant": slug, "game": game.client_id, "shop": shop.client_id, "callback": callback, "live": live_server}


def anonymous(site: dict[str, Any], client: str, scope: str | None = "openid offline_access") -> requests.Response:
    data = {"client_id": site[client], **({"scope": scope} if scope else {})}
    return requests.post(f"{site['live']}/t/{site['tenant']}/authn/anonymous", data=data, timeout=10)


def test_an_anonymous_identity_has_its_own_sub_and_nothing_else(site: dict[str, Any]) -> None:
    op = Provider(site["live"], site["tenant"])
    first, second = anonymous(site, "game"), anonymous(site, "game")
    assert first.status_code == 200, first.text
    tokens = first.json()
    claims = verify_id_token(
        op, tokens["id_token"], client_id=site["game"], nonce=None, access_token=tokens["access_token"]
    )
    assert (
        claims["sub"] == jwt_claims(tokens["access_token"])["sub"] != jwt_claims(second.json()["access_token"])["sub"]
    )
    assert claims["amr"] == ["anon"] and "email" not in claims
    assert tokens["scope"] == "openid offline_access" and tokens["expires_in"] <= 300
    info = op.userinfo(tokens["access_token"])
    assert info.status_code == 200 and info.json() == {"sub": claims["sub"]}
    refreshed = op.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": site["game"]}
    )
    assert refreshed.status_code == 200 and jwt_claims(refreshed.json()["access_token"])["sub"] == claims["sub"]
    # limited scopes, enabled per tier, client authentication as at the token endpoint
    email_scope = anonymous(site, "game", "openid email")
    assert email_scope.status_code == 400 and email_scope.json()["error"] == "invalid_scope"
    elsewhere = anonymous(site, "shop")
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == "unauthorized_client"
    nobody = requests.post(f"{site['live']}/t/{site['tenant']}/authn/anonymous", data={"client_id": "nope"}, timeout=10)
    assert nobody.status_code == 401 and nobody.json()["error"] == "invalid_client"
    # not a user of the tenant's lists
    listed = requests.get(
        f"{site['live']}/t/{site['tenant']}/admin/users",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {admin_token(site['live'], site['tenant'], None)}"},
        timeout=10,
    )
    assert claims["sub"] not in {u["id"] for u in listed.json()["users"]}
    shown = requests.get(
        f"{site['live']}/t/{site['tenant']}/admin/users/{claims['sub']}",
        headers={"Authorization": f"Bearer {admin_token(site['live'], site['tenant'], None)}"},
        timeout=10,
    )
    assert shown.status_code == 404


def test_the_upgrade_keeps_the_sub(site: dict[str, Any], outbox: Any) -> None:
    op = Provider(site["live"], site["tenant"])
    tokens = anonymous(site, "game").json()
    sub = jwt_claims(tokens["access_token"])["sub"]
    email, password = f"player-{uuid.uuid4().hex[:6]}@example.org", f"Pw-{secrets.token_urlsafe(12)}"
    url = f"{site['live']}/t/{site['tenant']}/authn/anonymous/upgrade"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    weak = requests.post(url, json={"email": email, "password": "short"}, headers=bearer, timeout=10)
    assert weak.status_code == 400 and "password" in weak.json()["fields"]
    assert requests.post(url, json={"email": email, "password": password}, timeout=10).status_code == 401
    upgraded = requests.post(url, json={"email": email, "password": password}, headers=bearer, timeout=10)
    assert upgraded.status_code == 202, upgraded.text
    assert upgraded.json() == {"sub": sub, "email": email, "status": "pending"}
    link = token_link(wait_for_mail(outbox, email)[0])
    browser = requests.Session()
    page = browser.get(link, timeout=10)
    confirmed = op.submit(browser, Page.parse(page), "/verify", {})
    assert confirmed.status_code in (200, 302, 303), confirmed.text[:300]
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": site["game"],
        "redirect_uri": site["callback"],
        "scope": "openid email",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = None
    for _ in range(50):  # activation happens in the workflow's ActivateAccount task
        browser = requests.Session()
        response = op.authorize(browser, params)
        result = op.login(browser, response, email, password) if response.status_code == 200 else response
        if result.status_code in (302, 303) and "code=" in result.headers["Location"]:
            code = result.headers["Location"].split("code=")[1].split("&")[0]
            break

        time.sleep(0.2)
    assert code, "the upgraded account could not sign in"
    exchanged = op.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": site["callback"],
            "client_id": site["game"],
            "code_verifier": verifier,
        }
    ).json()
    claims = jwt_claims(exchanged["id_token"])
    assert claims["sub"] == sub and claims["email"] == email and claims["email_verified"] is True
    # once upgraded it is no longer anonymous; a taken address is refused
    again = anonymous(site, "game").json()
    taken = requests.post(
        url,
        json={"email": email, "password": password},
        headers={"Authorization": f"Bearer {again['access_token']}"},
        timeout=10,
    )
    assert taken.status_code == 409
    registered = requests.post(
        url,
        json={"email": f"z{email}", "password": password},
        headers={"Authorization": f"Bearer {exchanged['access_token']}"},
        timeout=10,
    )
    assert registered.status_code == 403


def test_anonymous_settings_are_validated() -> None:
    from chalicelib.core.settings import validate_settings

    for bad in ({"scopes": ["openid", "email"]}, {"lifetime_seconds": 0}, {"scopes": ["admin"]}):
        with pytest.raises(ValueError):
            validate_settings({"anonymous": bad})
    assert validate_settings({"anonymous": {"enabled": True}}) == {"anonymous": {"enabled": True}}
