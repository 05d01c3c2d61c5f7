"""Rendering of the sign-in pages (login, consent, error) for a tenant and request."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from chalicelib import container
from chalicelib.core.errors import TenantUnavailable
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId
from chalicelib.web.http import HttpRequest, HttpResponse, html_response
from chalicelib.web.pages.assets import Script
from chalicelib.web.pages.i18n import negotiate_locale, translate
from chalicelib.web.pages.render import render_page

PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
ERROR_TITLES = {404: "Not found", 429: "Too many attempts", 503: "Temporarily unavailable"}


def locale_for(request: HttpRequest, ui_locales: str | None = None) -> str:
    return negotiate_locale(ui_locales, request.headers.get("accept-language"))


def branding_for(tenant_id: TenantId, node_id: NodeId = ROOT_NODE) -> dict[str, str]:
    try:
        tree = container.tenants().tree(tenant_id)
        branding = dict(container.tenants().effective(tenant_id, node_id).section("branding"))
    except TenantUnavailable:
        return {"display_name": "Gatehouse", "primary_color": "", "logo_url": ""}
    branding["display_name"] = branding.get("display_name") or tree.root.name
    return {k: str(v) for k, v in branding.items()}


def page(
    request: HttpRequest,
    template: str,
    *,
    tenant_id: TenantId,
    node_id: NodeId = ROOT_NODE,
    ui_locales: str | None = None,
    status: int = 200,
    cookies: list[str] | None = None,
    form_targets: tuple[str, ...] = (),
    scripts: tuple[Script, ...] = (),
    **context: Any,
) -> HttpResponse:
    """A hosted page; ``scripts`` (``web.pages.assets``) are loaded by it and are the only ones its CSP allows."""
    locale = locale_for(request, ui_locales)
    # Error and field messages are passed as catalog keys and translated in the page's locale.
    if isinstance(context.get("error"), str):
        context["error"] = translate(locale, context["error"])
    if isinstance(context.get("field_errors"), dict):
        context["field_errors"] = {k: translate(locale, v) for k, v in context["field_errors"].items()}
    html = render_page(template, locale=locale, branding=branding_for(tenant_id, node_id), scripts=scripts, **context)
    response = html_response(html, status, form_targets=form_targets, script_sources=tuple(s.url for s in scripts))
    response.cookies.extend(c for c in cookies or [] if c)
    return response


def redirect_sources(redirect_uris: tuple[str, ...]) -> tuple[str, ...]:
    """CSP form-action sources for private-use-scheme redirect URIs (http and https are allowed anyway)."""
    schemes = {urlsplit(uri).scheme for uri in redirect_uris}
    return tuple(sorted(f"{s}:" for s in schemes if s not in ("http", "https") and PRIVATE_SCHEME.match(s)))


def error_page(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    tenant_id = TenantId(request.path_params.get("tenant", "") or "-")
    title = ERROR_TITLES.get(status, "Something went wrong" if status >= 500 else "The request could not be completed")
    return page(
        request, "error.html", tenant_id=tenant_id, status=status, title=title, message=message, error_code=code
    )
