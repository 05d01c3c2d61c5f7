"""A small, deliberately naive OpenID Connect relying party for black-box tests over real HTTP.

It knows only what a relying party may know: the discovery document, the JWKS, the HTML of the hosted pages (it
submits their forms the way a browser without JavaScript would) and the redirects. Nothing here imports chalicelib.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

FORM = "application/x-www-form-urlencoded"
TIMEOUT = 15


# --- what a test knows about the clients and users it created ---------------------------------------------------


@dataclass(frozen=True)
class E2EUser:
    email: str
    password: str
    user_id: str


@dataclass(frozen=True)
class E2EClient:
    client_id: str
    secret: str | None
    redirect_uri: str
    client_type: str

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


# --- small pure helpers --------------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: Any) -> str:
    import json

    return b64url(json.dumps(value, separators=(",", ":")).encode())


def query_params(url: str) -> dict[str, str]:
    """The single-valued query parameters of a URL (fails loudly on repeated ones)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    repeated = [k for k, v in parsed.items() if len(v) != 1]
    assert not repeated, f"repeated query parameters {repeated} in {url}"
    return {k: v[0] for k, v in parsed.items()}


def strip_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}:{'//' + parts.netloc if parts.netloc else ''}{parts.path}"


def jwt_header(token: str) -> dict[str, Any]:
    import json

    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


def jwt_claims(token: str) -> dict[str, Any]:
    """Unverified claims (for assertions on tokens already verified elsewhere, or on purpose-built ones)."""
    import json

    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


# --- HTML ----------------------------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden and text inputs, with their values
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value) of named submit buttons
    inputs: list[dict[str, str]] = field(default_factory=list)  # every <input>'s attributes


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.lang: str | None = None
        self.title = ""
        self._in_title = False
        self.h1 = ""
        self._in_h1 = False
        self.callback: dict[str, str] = {}
        self._cell: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "title":
            self._in_title = True
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            form = self.forms[-1]
            form.inputs.append(a)
            if a.get("name") and a.get("type", "text") not in ("submit", "checkbox", "radio"):
                form.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))
        elif tag == "td" and "data-name" in a:
            self._cell = a["data-name"]
            self.callback[self._cell] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "h1":
            self._in_h1 = False
        elif tag == "td":
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data
        if self._in_h1:
            self.h1 += data
        if self._cell is not None:
            self.callback[self._cell] += data


@dataclass
class Page:
    status: int
    html: str
    forms: list[Form]
    lang: str | None
    title: str
    h1: str
    callback: dict[str, str]
    text: str

    @classmethod
    def parse(cls, response: requests.Response) -> Page:
        parser = _PageParser()
        parser.feed(response.text)
        text = " ".join(" ".join(parser.text).split())
        return cls(
            response.status_code,
            response.text,
            parser.forms,
            parser.lang,
            parser.title.strip(),
            parser.h1.strip(),
            parser.callback,
            text,
        )

    def form(self, action_suffix: str) -> Form:
        found = [f for f in self.forms if urlsplit(f.action).path.endswith(action_suffix)]
        assert found, f"no form posting to *{action_suffix} on page {self.h1!r} (status {self.status})"
        return found[0]

    def has_form(self, action_suffix: str) -> bool:
        return any(urlsplit(f.action).path.endswith(action_suffix) for f in self.forms)


# --- the relying party ---------------------------------------------------------------------------------------------


class Provider:
    """The OpenID Provider as seen from outside: discovery, JWKS and helpers that walk the hosted pages."""

    def __init__(self, base_url: str, tenant: str = "demo") -> None:
        self.base = base_url.rstrip("/")
        self.tenant = tenant
        self.issuer = f"{self.base}/t/{tenant}"
        response = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
        response.raise_for_status()
        self.metadata: dict[str, Any] = response.json()

    def __getitem__(self, name: str) -> str:
        return str(self.metadata[name])

    def jwks(self) -> dict[str, Any]:
        response = requests.get(self["jwks_uri"], timeout=TIMEOUT)
        response.raise_for_status()
        return dict(response.json())

    # --- front channel -------------------------------------------------------------------------------------

    def authorize(self, browser: requests.Session, params: dict[str, Any] | list[tuple[str, str]]) -> requests.Response:
        return browser.get(self["authorization_endpoint"], params=params, allow_redirects=False, timeout=TIMEOUT)

    def submit(
        self,
        browser: requests.Session,
        page: Page,
        action_suffix: str,
        values: dict[str, str],
        button: tuple[str, str] | None = None,
    ) -> requests.Response:
        form = page.form(action_suffix)
        data = {**form.fields, **values}
        if button:
            data[button[0]] = button[1]
        url = urljoin(self.base + "/", form.action)
        return browser.post(url, data=data, allow_redirects=False, timeout=TIMEOUT)

    def login(
        self, browser: requests.Session, login_page: requests.Response | Page, email: str, password: str
    ) -> requests.Response:
        page = login_page if isinstance(login_page, Page) else Page.parse(login_page)
        assert page.has_form("/login"), f"expected the login form, got {page.status}: {page.h1!r}"
        return self.submit(browser, page, "/login", {"email": email, "password": password})

    def consent(
        self, browser: requests.Session, consent_page: requests.Response | Page, decision: str
    ) -> requests.Response:
        page = consent_page if isinstance(consent_page, Page) else Page.parse(consent_page)
        return self.submit(browser, page, "/consent", {}, button=("decision", decision))

    def sign_in(
        self,
        browser: requests.Session,
        params: dict[str, Any],
        email: str,
        password: str,
        *,
        consent: str | None = None,
    ) -> dict[str, str]:
        """Authorize, log in (and consent if asked) and return the parameters of the final redirect."""
        response = self.authorize(browser, params)
        if response.status_code == 200 and Page.parse(response).has_form("/login"):
            response = self.login(browser, response, email, password)
        if response.status_code == 200 and Page.parse(response).has_form("/consent"):
            assert consent, "unexpected consent page"
            response = self.consent(browser, response, consent)
        assert response.status_code in (302, 303), (
            f"expected a redirect, got {response.status_code}: {response.text[:500]}"
        )
        location = response.headers["Location"]
        assert strip_query(location) == strip_query(str(params["redirect_uri"])), location
        return query_params(location)

    # --- back channel --------------------------------------------------------------------------------------

    def token(
        self,
        data: dict[str, Any] | list[tuple[str, str]] | str | bytes,
        auth: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        return requests.post(
            self["token_endpoint"], data=data, auth=auth, allow_redirects=False, timeout=TIMEOUT, **kwargs
        )

    def introspect(self, token: str, auth: tuple[str, str] | None, **extra: str) -> requests.Response:
        return requests.post(self["introspection_endpoint"], data={"token": token, **extra}, auth=auth, timeout=TIMEOUT)

    def revoke(self, token: str, auth: tuple[str, str] | None, **extra: str) -> requests.Response:
        return requests.post(self["revocation_endpoint"], data={"token": token, **extra}, auth=auth, timeout=TIMEOUT)

    def userinfo(self, access_token: str | None, method: str = "GET") -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token is not None else {}
        return requests.request(method, self["userinfo_endpoint"], headers=headers, timeout=TIMEOUT)

    def is_active(self, token: str, auth: tuple[str, str]) -> bool:
        response = self.introspect(token, auth)
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])


# --- token verification with an independent library ----------------------------------------------------------------


def verify_id_token(
    provider: Provider,
    id_token: str,
    *,
    client_id: str,
    nonce: str | None,
    access_token: str | None = None,
    max_age: int | None = None,
) -> dict[str, Any]:
    """Verify an ID token with Authlib (signature by kid from the JWKS, then OIDC Core §3.1.3.7 claim rules)."""
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oidc.core import CodeIDToken

    jwt = JsonWebToken(["RS256", "ES256"])
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(provider.jwks()),
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": client_id},
        },
        claims_params={"nonce": nonce, "access_token": access_token, "client_id": client_id, "max_age": max_age},
    )
    claims.validate(leeway=5)
    return dict(claims)


def verify_access_token(provider: Provider, access_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of an RFC 9068 access token, signature checked against the JWKS with Authlib."""
    from authlib.jose import JsonWebKey, JsonWebToken

    jwt = JsonWebToken(["ES256", "RS256"])
    claims = jwt.decode(access_token, JsonWebKey.import_key_set(provider.jwks()))
    claims.validate(leeway=5)
    return jwt_header(access_token), dict(claims)
