"""The only web module that knows Chalice: request/response translation and the endpoint wrapper."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from chalicelib.web.http import MAX_BODY_BYTES, BadRequest, HttpRequest, HttpResponse, json_response

Handler = Callable[..., HttpResponse]


def from_chalice(request: Request) -> HttpRequest:
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    query: dict[str, list[str]] = {}
    params = request.query_params
    if params:
        for key in params:
            query[key] = list(params.getlist(key))
    declared = headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest("The request body is too large.", 413)
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else bytes(raw)
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("The request body is too large.", 413)
    identity = (request.context or {}).get("identity") or {}
    return HttpRequest(
        method=request.method.upper(),
        path_params=dict(request.uri_params or {}),
        query=query,
        headers=headers,
        body=body,
        source_ip=str(identity.get("sourceIp") or ""),
    )


def to_chalice(response: HttpResponse) -> Response:
    headers: dict[str, Any] = dict(response.headers)
    if response.cookies:
        headers["Set-Cookie"] = list(response.cookies)
    return Response(body=response.body, headers=headers, status_code=response.status)


def chalice_view(handler: Handler, request: Request, *args: str) -> Response:
    """Run a protocol handler for the current Chalice request (oversize and unreadable input become 4xx)."""
    try:
        http_request = from_chalice(request)
    except BadRequest as error:
        return to_chalice(json_response({"error": "invalid_request", "error_description": str(error)}, error.status))
    return to_chalice(handler(http_request, *args))


def view(handler: Handler) -> Callable[..., Response]:
    """Decorator used by app.py: ``view(handler)(request, *path_args)``."""

    @functools.wraps(handler)
    def run(request: Request, *args: str) -> Response:
        return chalice_view(handler, request, *args)

    return run
