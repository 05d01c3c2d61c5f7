"""Local-stage helpers (never deployed): the outbox of sent messages and a stand-in relying-party callback."""

from __future__ import annotations

from chalicelib.config import settings
from chalicelib.web.http import HttpRequest, HttpResponse, html_response, json_response
from chalicelib.web.pages.render import render_page


def local_only(request: HttpRequest) -> HttpResponse | None:
    if not settings().is_local:
        return json_response({"error": "not_found"}, 404)
    return None


def outbox_endpoint(request: HttpRequest) -> HttpResponse:
    blocked = local_only(request)
    if blocked:
        return blocked
    from chalicelib import container

    return json_response(container.local_outbox(), headers={"Cache-Control": "no-store"})


def callback_endpoint(request: HttpRequest) -> HttpResponse:
    blocked = local_only(request)
    if blocked:
        return blocked
    params = [(k, v) for k, values in request.query.items() for v in values]
    html = render_page("callback.html", locale="en", branding={"display_name": "Local relying party"}, params=params)
    return html_response(html)
