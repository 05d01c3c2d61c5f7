"""Outbound HTTP with urllib3 (already shipped with botocore; imported on first use, not at cold start).

One pool manager per process, TLS verified, short timeouts, no redirects followed (an upstream provider or a
webhook receiver that redirects is misconfigured, and following would let it point us elsewhere), responses
capped in size.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import DependencyUnavailable

if TYPE_CHECKING:
    import urllib3

MAX_RESPONSE_BYTES = 512 * 1024
CONNECT_SECONDS = 3.0
READ_SECONDS = 5.0


@cache
def _pool() -> urllib3.PoolManager:
    import urllib3

    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS), retries=False, maxsize=4
    )


def _request(method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
    import urllib3

    try:
        response = _pool().request(method, url, redirect=False, preload_content=False, **kwargs)
        try:
            body = response.read(MAX_RESPONSE_BYTES + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise DependencyUnavailable(detail=f"{method} {url}: {type(error).__name__}") from error
    if len(body) > MAX_RESPONSE_BYTES:
        raise DependencyUnavailable(detail=f"{method} {url}: response too large")
    return response.status, body


def _json_object(url: str, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as error:
        raise DependencyUnavailable(detail=f"{url}: not JSON") from error
    if not isinstance(value, dict):
        raise DependencyUnavailable(detail=f"{url}: not a JSON object")
    return value


class Urllib3HttpClient:
    def get_json(self, url: str) -> dict[str, Any]:
        status, body = _request("GET", url, headers={"Accept": "application/json"})
        if not 200 <= status < 300:
            raise DependencyUnavailable(detail=f"GET {url}: HTTP {status}")
        return _json_object(url, body)

    def post_form(self, url: str, form: dict[str, str], *, basic_auth: tuple[str, str] | None = None) -> dict[str, Any]:
        import urllib3

        headers = {"Accept": "application/json"}
        if basic_auth is not None:
            from urllib.parse import quote

            # RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
            headers.update(
                urllib3.make_headers(basic_auth=f"{quote(basic_auth[0], safe='')}:{quote(basic_auth[1], safe='')}")
            )
        status, body = _request("POST", url, fields=form, encode_multipart=False, headers=headers)
        if status >= 500:
            raise DependencyUnavailable(detail=f"POST {url}: HTTP {status}")
        return _json_object(url, body)

    def post_json(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        status, _ = _request("POST", url, body=body, headers={"Content-Type": "application/json", **headers})
        return status
