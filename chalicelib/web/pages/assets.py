"""The hosted pages' one script: ``/static/webauthn-<hash>.js`` (the passkey ceremonies), served by our own route.

Its name carries a digest of its content, so it can be cached for a year and a changed file is a new URL. Pages
that need it list it in their CSP by its full URL (``script-src <url>``: that file and nothing else, no inline
script) and load it with a Subresource Integrity digest; every other page keeps ``default-src 'none'``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chalicelib.config import settings as config
from chalicelib.web.http import HttpRequest, HttpResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"
YEAR = 365 * 86400


@dataclass(frozen=True)
class Script:
    name: str
    body: bytes
    integrity: str

    @property
    def url(self) -> str:
        return f"{config().public_base_url}/static/{self.name}"


@functools.cache
def webauthn_script() -> Script:
    body = (STATIC_DIR / "webauthn.js").read_bytes()
    name = f"webauthn-{hashlib.sha256(body).hexdigest()[:16]}.js"
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
    return Script(name, body, integrity)


def static_asset(http: HttpRequest, name: str) -> HttpResponse:
    """The script under its current name; anything else is a plain 404 (no file system path is ever built)."""
    script = webauthn_script()
    if name != script.name or http.method != "GET":
        headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        return HttpResponse(404, "Not found", headers)
    return HttpResponse(
        200,
        script.body.decode("utf-8"),
        {
            "Content-Type": "text/javascript; charset=utf-8",
            "Cache-Control": f"public, max-age={YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )
