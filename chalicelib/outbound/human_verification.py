"""Human verification (CAPTCHA) verifiers: Cloudflare Turnstile, and a local verifier for tests and the demo.

Turnstile's siteverify API (https://developers.cloudflare.com/turnstile/get-started/server-side-validation/) takes
the secret, the widget's response token and the visitor's IP as a form post and answers JSON with ``success``.
The verify URL is configurable so tests can point it at a local fake.
"""

from __future__ import annotations

import hmac
import json
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

from chalicelib.config import settings
from chalicelib.core.errors import DependencyUnavailable

LOCAL_PASS = "local-pass"
MAX_TOKEN = 2048  # Turnstile tokens are at most 2048 characters
MAX_RESPONSE = 64 * 1024


class LocalHumanVerifier:
    """Accepts exactly the token ``local-pass`` (tenants with ``registration.captcha = "local"``)."""

    def verify(self, token: str, *, remote_ip: str) -> bool:
        return hmac.compare_digest(token.encode(), LOCAL_PASS.encode())


class TurnstileVerifier:
    def __init__(self, secret: str | None = None, verify_url: str | None = None, timeout: float = 5.0) -> None:
        self._secret = settings().turnstile_secret if secret is None else secret
        self._url = verify_url or settings().turnstile_verify_url
        self._timeout = timeout
        parts = urlsplit(self._url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")):
            raise ValueError("the Turnstile verify URL must be https (or http on loopback, for tests)")

    def verify(self, token: str, *, remote_ip: str) -> bool:
        if not self._secret:
            raise DependencyUnavailable(detail="GATEHOUSE_TURNSTILE_SECRET is not configured")
        if not token or len(token) > MAX_TOKEN:
            return False
        fields = {"secret": self._secret, "response": token}
        if remote_ip:
            fields["remoteip"] = remote_ip
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self._url,
            data=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                answer = json.loads(response.read(MAX_RESPONSE))
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise DependencyUnavailable(detail=f"turnstile siteverify: {error}") from error
        return isinstance(answer, dict) and answer.get("success") is True
