"""A federated sign-in in headless Chromium with JavaScript disabled: the provider button, the upstream login,
and the provisioning interstitial that moves on by itself (meta refresh) until the application gets its code."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

import pytest
import requests

from tests.support.federation import make_bed, upstream_user

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def test_federated_sign_in_without_javascript(live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    from chalicelib.services.federation import FederationService

    original = FederationService.resolve

    def slow(self: FederationService, tenant_id: Any, login_id: str) -> str:
        time.sleep(1.5)  # long enough for the browser to see the interstitial
        return original(self, tenant_id, login_id)

    monkeypatch.setattr(FederationService, "resolve", slow)
    bed = make_bed(live_server)
    email, password = upstream_user(bed, given_name="Kay")
    statuses: list[tuple[int, str]] = []
    playwright = sync_api.sync_playwright().start()
    profile = tempfile.mkdtemp(prefix="gatehouse-chromium-")
    try:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, java_script_enabled=False
        )
        context.set_default_timeout(20_000)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("response", lambda r: statuses.append((r.status, r.url)))
        page.goto(f"{bed.issuer}/authorize?" + requests.compat.urlencode(bed.authorize_params()))
        page.click("text=Continue with Upstream Inc")
        page.wait_for_url(f"{live_server}/t/{bed.upstream}/authorize*")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{bed.redirect_uri}?*")
        code = page.url.split("code=")[1].split("&")[0]
        context.close()
    finally:
        playwright.stop()
        shutil.rmtree(profile, ignore_errors=True)
    assert any(status == 202 and "/federation/logins/" in url for status, url in statuses), statuses
    tokens = bed.exchange(code)
    from jose import jwt

    assert jwt.get_unverified_claims(tokens["id_token"])["given_name"] == "Kay"
