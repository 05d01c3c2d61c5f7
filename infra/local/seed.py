"""Idempotent demo data for the local stage: tenant ``demo``, clients ``demo-web`` and ``demo-mobile``, and the
verified user ``alice@example.com``; and a second customer tenant ``social`` on the same server as the demo's
upstream OpenID provider ("Social Login" on demo's login page and in the account portal's "Link" buttons).

Generated secrets (the demo-web client secret and alice's password; the social users' passwords and the broker
client's secret) are kept in ``.local/demo-credentials.json`` (git-ignored) so every start can print them; if that
file is lost, they are re-issued.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from infra.local import LOCAL_DIR

if TYPE_CHECKING:
    from chalicelib.core.ids import TenantId

CREDENTIALS_FILE = LOCAL_DIR / "demo-credentials.json"
TENANT = "demo"
WEB_CLIENT = "demo-web"
MOBILE_CLIENT = "demo-mobile"
MOBILE_REDIRECT = "com.example.demo:/callback"
PARTNER_CLIENT = "demo-partner"  # a third-party app: asks for consent (shown and revocable in the account portal)
USER_EMAIL = "alice@example.com"
SOCIAL_TENANT = "social"  # a separate customer tenant: the demo's upstream OpenID provider on the same server
SOCIAL_IDP = "social"  # the integration's name on tenant demo (URLs: /t/demo/federation/social/...)
SOCIAL_CLIENT = "demo-broker"  # tenant social's confidential client that tenant demo signs in with
# Never a silent merge: an upstream address that matches a demo account is linked only after the user signs in to
# that account; otherwise accounts join only through "Link" in the portal.
SOCIAL_LINKING = "sign_in"
SOCIAL_LINK_USER = "alice@social.example"  # alice's social account: link it to alice in the portal
SOCIAL_NEW_USER = "bob@social.example"  # signing in with it creates a new demo account (just in time)


def _load() -> dict[str, str]:
    try:
        return dict(json.loads(CREDENTIALS_FILE.read_text()))
    except (OSError, ValueError):
        return {}


def _save(values: dict[str, str]) -> None:
    CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
    CREDENTIALS_FILE.write_text(json.dumps(values, indent=2))
    os.chmod(CREDENTIALS_FILE, 0o600)


def seed_demo(base_url: str | None = None, *, persist: bool = False) -> dict[str, Any]:
    """Seed (idempotently) and return the demo data. ``persist`` keeps the generated secrets in
    ``.local/demo-credentials.json``: only for the on-disk stack, never for in-memory (test) stacks."""
    from chalicelib import container
    from chalicelib.config import settings
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    base = (base_url or settings().public_base_url).rstrip("/")
    saved = _load() if persist else {}
    tenants = container.tenants()
    if not tenants.exists(TENANT):
        tenants.create_customer(TENANT, "Demo")
    tenant_id = TenantId(TENANT)
    container.signing_keys().ensure_keys(tenant_id)

    callbacks = sorted({"http://127.0.0.1:8000/_local/callback", f"{base}/_local/callback"})
    clients = container.clients()
    if clients.get(tenant_id, WEB_CLIENT) is None:
        _, secret = clients.create(
            tenant_id,
            name="Demo web app",
            client_type="confidential",
            client_id=WEB_CLIENT,
            redirect_uris=callbacks,
            post_logout_redirect_uris=callbacks,
            first_party=True,
        )
        saved["client_secret"] = str(secret)
    elif "client_secret" not in saved:
        saved["client_secret"] = clients.rotate_secret(tenant_id, WEB_CLIENT)
    if clients.get(tenant_id, MOBILE_CLIENT) is None:
        clients.create(
            tenant_id,
            name="Demo mobile app",
            client_type="public",
            client_id=MOBILE_CLIENT,
            redirect_uris=[MOBILE_REDIRECT],
            post_logout_redirect_uris=[MOBILE_REDIRECT],
            first_party=True,
        )

    if clients.get(tenant_id, PARTNER_CLIENT) is None:
        _, partner_secret = clients.create(
            tenant_id,
            name="Demo partner app",
            client_type="confidential",
            client_id=PARTNER_CLIENT,
            redirect_uris=callbacks,
            post_logout_redirect_uris=callbacks,
            first_party=False,
        )
        saved["partner_secret"] = str(partner_secret)
    elif "partner_secret" not in saved:
        saved["partner_secret"] = clients.rotate_secret(tenant_id, PARTNER_CLIENT)

    for client_id in (WEB_CLIENT, PARTNER_CLIENT):  # a later start on another port or public URL
        _add_redirect_uris(tenant_id, client_id, callbacks, logout=True)

    accounts = container.accounts()
    effective = tenants.effective(tenant_id)
    try:
        accounts.find_by_email(tenant_id, USER_EMAIL)
        if "password" not in saved:
            saved["password"] = secrets.token_urlsafe(12)
            accounts.set_password(tenant_id, USER_EMAIL, saved["password"], effective)
    except NotFound:
        saved["password"] = saved.get("password") or secrets.token_urlsafe(12)
        accounts.create_user(
            tenant_id,
            email=USER_EMAIL,
            password=saved["password"],
            verified=True,
            settings=effective,
            profile={"name": "Alice Example", "given_name": "Alice", "family_name": "Example"},
        )
    social = seed_social(base, saved)
    if persist:
        _save(saved)
    issuer = f"{base}/t/{TENANT}"
    return {
        "tenant": TENANT,
        "issuer": issuer,
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "web_client_id": WEB_CLIENT,
        "web_client_secret": saved["client_secret"],
        "web_redirect_uri": f"{base}/_local/callback",
        "mobile_client_id": MOBILE_CLIENT,
        "mobile_redirect_uri": MOBILE_REDIRECT,
        "user_email": USER_EMAIL,
        "user_password": saved["password"],
        **social,
        "login_url": f"{issuer}/authorize?"
        + urlencode(
            {
                "client_id": WEB_CLIENT,
                "response_type": "code",
                "scope": "openid profile email",
                "redirect_uri": f"{base}/_local/callback",
                "state": "demo",
            },
            quote_via=quote,
        ),
        "outbox": f"{base}/_local/outbox",
        "account_portal": f"{issuer}/account",
        "partner_client_id": PARTNER_CLIENT,
        "partner_client_secret": saved["partner_secret"],
        "partner_login_url": f"{issuer}/authorize?"
        + urlencode(
            {
                "client_id": PARTNER_CLIENT,
                "response_type": "code",
                "scope": "openid profile email offline_access",
                "redirect_uri": f"{base}/_local/callback",
                "state": "partner",
            },
            quote_via=quote,
        ),
    }


def seed_social(base: str, saved: dict[str, str]) -> dict[str, Any]:
    """Tenant ``social`` with its client ``demo-broker`` and two verified users, and the OpenID Connect
    integration ``social`` on tenant ``demo`` that uses them (idempotent; follows ``base`` and lost secrets)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenants = container.tenants()
    if not tenants.exists(SOCIAL_TENANT):
        tenants.create_customer(SOCIAL_TENANT, "Social (demo upstream provider)")
    social_id = TenantId(SOCIAL_TENANT)
    container.signing_keys().ensure_keys(social_id)

    callback = f"{base}/t/{TENANT}/federation/{SOCIAL_IDP}/callback"
    clients = container.clients()
    client = clients.find(social_id, SOCIAL_CLIENT)
    if client is None:
        _, secret = clients.create(
            social_id,
            name="Demo tenant (federation broker)",
            client_type="confidential",
            client_id=SOCIAL_CLIENT,
            redirect_uris=[callback],
            first_party=True,
            scopes=["openid", "email", "profile"],
        )
        saved["social_client_secret"] = str(secret)
    else:
        _add_redirect_uris(social_id, SOCIAL_CLIENT, [callback], logout=False)
        if not clients.secret_matches(client, saved.get("social_client_secret", "")):
            saved["social_client_secret"] = clients.rotate_secret(social_id, SOCIAL_CLIENT)

    people = {
        SOCIAL_LINK_USER: (
            "social_password",
            {"name": "Alice Example", "given_name": "Alice", "family_name": "Example"},
        ),
        SOCIAL_NEW_USER: ("social_new_password", {"name": "Bob Social", "given_name": "Bob", "family_name": "Social"}),
    }
    for email, (key, profile) in people.items():
        _ensure_user(social_id, email, key, profile, saved)

    _ensure_integration(f"{base}/t/{SOCIAL_TENANT}", saved["social_client_secret"])
    return {
        "social_user_email": SOCIAL_LINK_USER,
        "social_user_password": saved["social_password"],
        "social_new_user_email": SOCIAL_NEW_USER,
        "social_new_user_password": saved["social_new_password"],
        "social_idp": SOCIAL_IDP,
        "social_issuer": f"{base}/t/{SOCIAL_TENANT}",
    }


def _add_redirect_uris(tenant_id: TenantId, client_id: str, uris: list[str], *, logout: bool) -> None:
    """Register ``uris`` with an existing client if it lacks any (keeping the ones it has): the data on disk may
    come from a start on another port or public URL."""
    from chalicelib import container

    clients = container.clients()
    client = clients.find(tenant_id, client_id)
    if client is None or set(uris) <= set(client.redirect_uris):
        return
    logout_uris = sorted({*client.post_logout_redirect_uris, *uris}) if logout else None
    redirect_uris = sorted({*client.redirect_uris, *uris})
    clients.update(tenant_id, client_id, redirect_uris=redirect_uris, post_logout_redirect_uris=logout_uris)


def _ensure_user(tenant_id: TenantId, email: str, key: str, profile: dict[str, str], saved: dict[str, str]) -> None:
    """The verified user ``email``; its password is ``saved[key]`` (generated, or reset when the file lost it)."""
    from chalicelib import container
    from chalicelib.core.errors import NotFound

    accounts = container.accounts()
    effective = container.tenants().effective(tenant_id)
    try:
        accounts.find_by_email(tenant_id, email)
    except NotFound:
        saved[key] = saved.get(key) or secrets.token_urlsafe(12)
        accounts.create_user(
            tenant_id, email=email, password=saved[key], verified=True, settings=effective, profile=profile
        )
        return
    if key not in saved:
        saved[key] = secrets.token_urlsafe(12)
        accounts.set_password(tenant_id, email, saved[key], effective)


def _ensure_integration(issuer: str, client_secret: str) -> None:
    """The ``social`` OpenID Connect integration on tenant demo's root, using the broker client at ``issuer``.
    Nothing is fetched from the upstream here: discovery happens at the first sign-in through it, when the server
    (threaded, so it can call itself) is listening."""
    from chalicelib import container
    from chalicelib.core.digests import constant_time_equals
    from chalicelib.core.errors import NotFound
    from chalicelib.core.ids import TenantId

    tenant_id = TenantId(TENANT)
    integrations = container.identity_providers()
    oidc = {"issuer": issuer, "client_id": SOCIAL_CLIENT, "client_secret": client_secret}
    try:
        current = integrations.get(tenant_id, SOCIAL_IDP)
    except NotFound:
        document = {
            "name": SOCIAL_IDP,
            "kind": "oidc",
            "display_name": "Social Login",
            "linking": SOCIAL_LINKING,
            "oidc": oidc,
        }
        integrations.create(tenant_id, container.tenants().tree(tenant_id).root.node_id, document)
        return
    if current.oidc is None:  # an operator replaced it with a SAML integration of that name: theirs
        return
    same = (
        current.oidc.issuer == issuer
        and current.oidc.client_id == SOCIAL_CLIENT
        and constant_time_equals(integrations.client_secret(current), client_secret)
    )
    if not same:
        integrations.update(tenant_id, SOCIAL_IDP, {"oidc": oidc})
