"""The Cloudflare Turnstile adapter against a local fake of its siteverify API, alone and through registration."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest

from tests.e2e.registration.conftest import Site, strong_password, unique_email

SECRET = "turnstile-test-secret"
GOOD_TOKEN = "XXXX.DUMMY.TOKEN.XXXX"


class FakeSiteverify(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        FakeSiteverify.received.append(form)
        ok = form.get("secret") == [SECRET] and form.get("response") == [GOOD_TOKEN]
        body = {"success": ok, "error-codes": [] if ok else ["invalid-input-response"]}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def siteverify() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeSiteverify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/turnstile/v0/siteverify"
    server.shutdown()
    server.server_close()


def test_the_turnstile_adapter_posts_secret_token_and_ip(siteverify: str) -> None:
    from chalicelib.core.errors import DependencyUnavailable
    from chalicelib.outbound.human_verification import TurnstileVerifier

    verifier = TurnstileVerifier(secret=SECRET, verify_url=siteverify)
    assert verifier.verify(GOOD_TOKEN, remote_ip="203.0.113.9") is True
    assert FakeSiteverify.received[-1] == {
        "secret": [SECRET],
        "response": [GOOD_TOKEN],
        "remoteip": ["203.0.113.9"],
    }
    assert verifier.verify("forged", remote_ip="") is False
    assert verifier.verify("", remote_ip="") is False
    assert TurnstileVerifier(secret="wrong", verify_url=siteverify).verify(GOOD_TOKEN, remote_ip="") is False
    with pytest.raises(DependencyUnavailable):
        TurnstileVerifier(secret=SECRET, verify_url="http://127.0.0.1:9/down").verify(GOOD_TOKEN, remote_ip="")
    with pytest.raises(ValueError):
        TurnstileVerifier(secret=SECRET, verify_url="http://example.com/siteverify")


@pytest.fixture
def turnstile_configured(siteverify: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's configuration pointing at the fake (config is read once per process: re-read it)."""
    from chalicelib import config, container

    monkeypatch.setenv("GATEHOUSE_TURNSTILE_SECRET", SECRET)
    monkeypatch.setenv("GATEHOUSE_TURNSTILE_SITE_KEY", "1x00000000000000000000AA")
    monkeypatch.setenv("GATEHOUSE_TURNSTILE_VERIFY_URL", siteverify)
    config.settings.cache_clear()
    container.human_verifier.cache_clear()
    yield
    monkeypatch.undo()
    config.settings.cache_clear()
    container.human_verifier.cache_clear()


def test_registration_with_turnstile(make_site: Callable[..., Site], turnstile_configured: None) -> None:
    import requests

    site = make_site(registration={"captcha": "turnstile"})
    page = requests.get(site.url("register"), timeout=30)
    assert 'data-sitekey="1x00000000000000000000AA"' in page.text
    assert "script-src https://challenges.cloudflare.com" in page.headers["Content-Security-Policy"]
    body = {"email": unique_email(), "password": strong_password()}
    assert site.api("register", {**body, "captcha_token": "forged"}).json()["error"] == "captcha_failed"
    assert site.api("register", {**body, "captcha_token": GOOD_TOKEN}).status_code == 202
