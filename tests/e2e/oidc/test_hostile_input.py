"""Hostile input on every route, over HTTP: whatever arrives, the answer is the protocol's own error, never a 5xx and
never a stack trace. The routes come from the Chalice app itself, so a route is covered the day it is added.

Each route and method gets malformed and wrongly typed bodies (JSON, forms, SCIM, bytes that are not UTF-8), odd
credentials (a garbage bearer token, Basic that is not base64, a wrong secret) and a hostile query string, against
the demo tenant, a tenant that does not exist and a tenant name that is not one; nothing there is signed in, so
nothing can change state. The second test does the same signed in, on a fresh tenant of its own: the user's SSO
session and bearer token, an admin + SCIM service token, so the handlers behind authentication see the bodies.
Each test connects from its own address (``client_address``), so its failures throttle
nobody else. Nor is any of it logged as a server error.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterator

import pytest
import requests

pytestmark = pytest.mark.stack

TENANTS = ("demo", "no-such-tenant", "%2e%2e")
PARAMETERS = {"section": "sessions", "item": "x", "sub": "y", "kind": "totp", "step": "password", "idp": "nope"}
OTHER_PARAMETER = "x" * 300  # ids, names, slugs, actions: long and unknown

BODIES: tuple[tuple[str, bytes], ...] = (
    ("application/json", b"{not json"),
    ("application/json", b"[1, 2, 3]"),
    ("application/json", b"null"),
    ("application/json", b'{"a":' * 200 + b"1" + b"}" * 200),  # deep nesting
    (
        "application/json",
        json.dumps(
            {
                "email": "\u0000@\u202e.example",
                "password": 12,
                "scope": ["openid"],
                "redirect_uri": {"a": 1},
                "client_id": None,
                "flow_token": "x" * 5000,
                "code": [],
                "credential": "not an object",
                "schemas": 5,
                "Operations": "all",
                "userName": True,
                "seconds": -1,
                "roles": [{"nested": ["deep"]}],
            }
        ).encode(),
    ),
    (
        "application/x-www-form-urlencoded",
        b"grant_type=authorization_code&grant_type=refresh_token&code=%zz&redirect_uri=javascript:alert(1)"
        b"&client_id=%00&email=a%40b&email=c%40d&password=&csrf=x&flow=%ff%fe&scope=" + b"a" * 4000,
    ),
    ("application/x-www-form-urlencoded", b"\xff\xfe\x00\x01=\x80"),
    ("application/scim+json", b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{}]}'),
    ("text/plain", b"SAMLResponse=PHhtbD4="),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--"),
)
AUTHORIZATIONS = (
    None,
    "Bearer " + "e30." * 3,
    "Bearer a.b.c.d.e",
    "Basic !!notbase64!!",
    "Basic " + base64.b64encode(b"demo-web:wrong-secret").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
)
FORGED_COOKIES = {
    "gh_session": "%%",
    "gh_csrf": "a.b.c",
    "gh_device": "..",
    "gh_did": "e30.e30.",
    "gh_mfa_device": "x" * 900,
    "gh_account": "\\",
    "gh_account_login": "==",
}
HOSTILE_HEADERS = {  # on every request: forged cookies, impossible CloudFront locations, odd languages and agents
    "Cookie": "; ".join(f"{name}={value}" for name, value in FORGED_COOKIES.items()),
    "CloudFront-Viewer-Latitude": "NaN",
    "CloudFront-Viewer-Longitude": "1e999",
    "CloudFront-Viewer-Country": "ZZZZ",
    "Accept-Language": "*;q=abc, de-DE;q=2, \u00e9",
    "User-Agent": "Mozilla/5.0 " + "x" * 3000,
    "X-Forwarded-For": "not-an-ip, 999.1.1.1",
    "Origin": "null",
}
HOSTILE_QUERY = (
    "?client_id=%00&redirect_uri=javascript%3Aalert(1)&response_type=code&response_type=token&scope=openid%20"
    + "x" * 2000
    + "&state=%ff&code_challenge_method=plain&max_age=-5&prompt=none%20login&ui_locales=%E2%80%AE&filter=userName%20eq"
    + "&startIndex=-1&count=abc&SAMLResponse=%%%&RelayState=&token=.&token_type_hint=x&idp=..%2F..&type=%0a&before=z"
)


def routes() -> Iterator[tuple[str, str]]:
    import app

    for path, methods in sorted(app.app.routes.items()):
        if path.startswith("/_local/"):
            continue
        for method in sorted(methods):
            yield path, method


def concrete(path: str, tenant: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "tenant":
            return tenant
        return PARAMETERS.get(name, OTHER_PARAMETER)

    return re.sub(r"\{(\w+)\}", value, path)


def refused_properly(response: requests.Response) -> str | None:
    """Why the answer breaks the rule, or None."""
    if response.status_code >= 500:
        return f"status {response.status_code}: {response.text[:300]!r}"
    text = response.text
    if "Traceback" in text or 'File "/' in text or "botocore" in text or "pynamodb" in text.lower():
        return f"internals in the body: {text[:300]!r}"
    return None


class Probe:
    """Sends hostile attempts through ``http`` and keeps the answers' statuses and every answer
    that breaks the rule."""

    def __init__(self, http: requests.Session, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers  # sent with every attempt
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []

    def send(self, method: str, url: str, authorization: str | None, body: tuple[str, bytes] | None = None) -> None:
        """One attempt: ``url`` as it is (with ``HOSTILE_QUERY`` or not), ``body`` as (content type, bytes)."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = body[0]
        if authorization:
            headers["Authorization"] = authorization
        data = body[1] if body is not None else None
        response = self.http.request(method, url, data=data, headers=headers, timeout=30, allow_redirects=False)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        problem = refused_properly(response)
        if problem:
            shown = body[1][:60] if body is not None else url[:120]
            self.failures.append(f"{method} {url.split('?')[0]} {headers.get('Content-Type', '')} {shown!r}: {problem}")


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """ERROR records of the app's logger (Chalice's ``gatehouse`` logger does not propagate to the root)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("gatehouse")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_no_route_answers_hostile_input_with_a_server_error_or_a_trace(
    live_server: str, server_errors: list[logging.LogRecord]
) -> None:
    from tests.support.demo import seeded_demo

    seeded_demo(live_server)  # the demo tenant, its clients and identity providers exist
    with requests.Session() as http:
        probe = Probe(http, HOSTILE_HEADERS)
        for index, (path, method) in enumerate(routes()):
            # The hostile query on every tenant name; the bodies on the demo tenant, where the handlers run.
            credentials = (AUTHORIZATIONS[(index + n) % len(AUTHORIZATIONS)] for n in range(len(TENANTS) + len(BODIES)))
            for tenant in TENANTS:
                probe.send(method, live_server + concrete(path, tenant) + HOSTILE_QUERY, next(credentials))
            if method != "GET":
                for body in BODIES:
                    probe.send(method, live_server + concrete(path, "demo"), next(credentials), body)
    statuses = probe.statuses
    assert sum(statuses.values()) > 1000
    assert probe.failures == [], "\n".join(probe.failures)
    # The handlers were reached, not only the router: validation, authentication and protocol errors all answer.
    assert {400, 401, 404}.issubset(statuses), statuses
    # Bad input is the client's mistake: the server logs no error (an "unhandled error" line pages an operator).
    assert [record.getMessage() for record in server_errors] == []


ACCOUNT_PATHS = (  # what the account API and the portal serve, and a few things they do not
    "",
    "/profile",
    "/email",
    "/password",
    "/sessions/x",
    "/tokens/x",
    "/activity",
    "/consents",
    "/consents/x",
    "/consents/x/receipt",
    "/exports",
    "/exports/x",
    "/phone",
    "/phone/verify",
    "/identities",
    "/identities/x",
    "/mfa",
    "/mfa/totp",
    "/mfa/totp/verify",
    "/mfa/x/y",
    "/deletion",
    "/security",
    "/privacy",
    "/sessions",  # last: DELETE signs out everywhere
)
SIGNED_IN_BODIES = BODIES[:2] + BODIES[4:7]  # bad JSON, a JSON array, wrongly typed fields, form garbage, not UTF-8
METHOD_ORDER = ("GET", "POST", "PATCH", "PUT", "DELETE")  # what may end the session (sign-outs) comes last


def signed_in(live_server: str) -> tuple[str, requests.Session, str, str]:
    """A fresh tenant with a signed-in user: (slug, the user's browser with its SSO session, the user's access token
    for the account API, an admin + SCIM service token)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from tests.support.oidc_client import Provider, pkce_pair
    from tests.support.tenants import new_tenant, new_user, new_web_client

    slug = new_tenant("hostile")
    web, user = new_web_client(live_server, slug), new_user(slug)
    provider = Provider(live_server, slug)
    browser = requests.Session()
    verifier, challenge = pkce_pair()
    params = {
        "client_id": web.client_id,
        "redirect_uri": web.redirect_uri,
        "response_type": "code",
        "scope": "openid profile email offline_access",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = provider.sign_in(browser, params, user.email, user.password)["code"]
    exchanged = provider.token(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": web.redirect_uri, "code_verifier": verifier},
        auth=(web.client_id, web.client_secret),
    )
    assert exchanged.status_code == 200, exchanged.text
    service, secret = container.clients().create(
        TenantId(slug), name="Hostile admin", client_type="service", scopes=["admin", "scim"]
    )
    granted = provider.token(
        {"grant_type": "client_credentials", "scope": "admin scim"}, auth=(service.client_id, secret or "")
    )
    assert granted.status_code == 200, granted.text
    return slug, browser, exchanged.json()["access_token"], granted.json()["access_token"]


def test_signed_in_requests_with_hostile_input_get_protocol_errors_too(
    live_server: str, server_errors: list[logging.LogRecord]
) -> None:
    """The same with credentials that work: the user's SSO session on the hosted pages, the user's bearer token on
    the account API, an admin service token on the admin and SCIM APIs, so the handlers validate the bodies."""
    slug, browser, user_token, admin_token = signed_in(live_server)
    headers = {name: value for name, value in HOSTILE_HEADERS.items() if name != "Cookie"}  # keep the real session
    probe = Probe(browser, headers)
    for method in METHOD_ORDER:
        for path, route_method in routes():
            if route_method != method or path.startswith("/t/{tenant}/account/"):
                continue  # the account sub-routes are the same handler as /account: its sub-paths are ACCOUNT_PATHS
            paths = [path + extra for extra in ACCOUNT_PATHS] if path == "/t/{tenant}/account" else [path]
            for concrete_path in paths:
                url = live_server + concrete(concrete_path, slug)
                if "/admin/" in url or "/scim/" in url:
                    authorization = f"Bearer {admin_token}"
                elif "/account" in url or url.endswith(("/userinfo", "/authn/passkeys", "/authn/passkeys/verify")):
                    authorization = f"Bearer {user_token}"
                else:
                    authorization = None
                probe.send(method, url + HOSTILE_QUERY, authorization)
                if method != "GET":
                    for body in SIGNED_IN_BODIES:
                        probe.send(method, url, authorization, body)
    statuses = probe.statuses
    assert probe.failures == [], "\n".join(probe.failures)
    assert [record.getMessage() for record in server_errors] == []
    # The credentials worked: pages and APIs answered, not only their authentication.
    assert statuses.get(200, 0) > 20 and statuses.get(400, 0) > 100, statuses
