"""JSON calls to a bearer-token API (the admin API) from the end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

Api = Callable[..., requests.Response]


def bearer_api(base: str, token: str) -> Api:
    """``send(method, path="", body=None, **params)``: ``body`` as JSON to ``base + path`` (query ``params``) with
    ``token`` as the bearer token."""

    def send(method: str, path: str = "", body: Any = None, **params: Any) -> requests.Response:
        return requests.request(
            method,
            f"{base}{path}",
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    return send
