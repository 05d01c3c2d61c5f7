"""One entry per account route: requests with an ``Authorization`` header (or asking for JSON only) go to the
account API, everything else to the portal pages."""

from __future__ import annotations

from chalicelib.web.account.api import account_api
from chalicelib.web.account.pages import portal_page
from chalicelib.web.http import HttpRequest, HttpResponse


def wants_api(http: HttpRequest) -> bool:
    if "authorization" in http.headers:
        return True
    accept = http.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def account_endpoint(http: HttpRequest, tenant: str, *path: str) -> HttpResponse:
    handler = account_api if wants_api(http) else portal_page
    return handler(http, tenant, *path)
