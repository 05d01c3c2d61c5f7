"""Framework-neutral HTTP request/response values and their translation from/to Chalice.

Protocol code works on ``HttpRequest`` and returns ``HttpResponse``; only this module and ``app.py`` know Chalice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from chalicelib.config import settings as config

MAX_BODY_BYTES = 64 * 1024
FORM = "application/x-www-form-urlencoded"


class BadRequest(Exception):
    """Malformed HTTP input (before any protocol rule applies); ``status`` is 400 or 413/415."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class HttpRequest:
    method: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    source_ip: str
    _form: dict[str, list[str]] | None = None
    _cookies: dict[str, str] | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    def form(self) -> dict[str, list[str]]:
        if self._form is None:
            if self.body and self.content_type != FORM:
                raise BadRequest(f"Content-Type must be {FORM}.", 400)
            try:
                text = self.body.decode("utf-8")
                pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
            except (UnicodeDecodeError, ValueError) as error:
                raise BadRequest("The request body is not valid form data.") from error
            self._form = {}
            for key, value in pairs:
                self._form.setdefault(key, []).append(value)
        return self._form

    def json(self) -> Any:
        if self.content_type != "application/json":
            raise BadRequest("Content-Type must be application/json.", 415)
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise BadRequest("The request body is not valid JSON.") from error

    def params(self) -> dict[str, list[str]]:
        """Query parameters for GET, form parameters for POST (OIDC Core §3.1.2.1 allows both)."""
        return self.form() if self.method == "POST" else self.query

    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            from http.cookies import CookieError, SimpleCookie

            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(self.headers.get("cookie", ""))
            except CookieError:
                pass
            self._cookies = {k: m.value for k, m in jar.items()}
        return self._cookies

    @property
    def user_agent(self) -> str:
        return self.headers.get("user-agent", "")[:512]


def single(params: dict[str, list[str]], name: str) -> str | None:
    """A parameter that may appear at most once (RFC 6749 §3.1); raises DuplicateParameter otherwise."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise DuplicateParameter(name)
    return values[0]


class DuplicateParameter(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"The '{name}' parameter must not be repeated.")
        self.name = name


@dataclass
class HttpResponse:
    status: int
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status, json.dumps(body, separators=(",", ":")), {"Content-Type": "application/json", **(headers or {})}
    )


def html_response(
    html: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    form_targets: tuple[str, ...] = (),
    script_sources: tuple[str, ...] = (),
) -> HttpResponse:
    """An HTML page with a strict CSP. ``form_targets`` are extra ``form-action`` sources: CSP also applies
    form-action to the redirect that answers a form post, so a sign-in page must allow its client's redirect
    URI (a native app's private-use scheme such as ``com.example.app:``). ``script_sources`` are the full URLs of
    the only scripts the page may run (none by default; never inline script)."""
    form_action = " ".join(("'self'", "http:", "https:", *form_targets))
    scripts = f"script-src {' '.join(script_sources)}; " if script_sources else ""
    return HttpResponse(
        status,
        html,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": f"default-src 'none'; {scripts}style-src 'unsafe-inline'; img-src https: data:; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
            "Referrer-Policy": "no-referrer",
            **(headers or {}),
        },
    )


def redirect(url: str, status: int = 303) -> HttpResponse:
    return HttpResponse(status, "", {"Location": url, "Cache-Control": "no-store"})


def with_query(url: str, params: dict[str, str | None]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}" if query else url


def cookie(name: str, value: str, *, path: str, max_age: int | None) -> str:
    secure = "; Secure" if config().public_base_url.startswith("https://") else ""
    age = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{name}={value}; Path={path}; HttpOnly; SameSite=Lax{secure}{age}"


def expired_cookie(name: str, *, path: str) -> str:
    return cookie(name, "", path=path, max_age=0)
