"""Idempotent demo data for the local stage: tenant ``demo``, clients ``demo-web`` and ``demo-mobile``, and the
verified user ``alice@example.com``.

Generated secrets (the demo-web client secret and alice's password) are kept in ``.local/demo-credentials.json``
(git-ignored) so every start can print them; if that file is lost, they are re-issued.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any
from urllib.parse import quote, urlencode

from infra.local import LOCAL_DIR

CREDENTIALS_FILE = LOCAL_DIR / "demo-credentials.json"
TENANT = "demo"
WEB_CLIENT = "demo-web"
MOBILE_CLIENT = "demo-mobile"
MOBILE_REDIRECT = "com.example.demo:/callback"
PARTNER_CLIENT = "demo-partner"  # a third-party app: asks for consent (shown and revocable in the account portal)
USER_EMAIL = "alice@example.com"


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
