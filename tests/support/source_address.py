"""HTTP clients with a chosen source address. On Linux every 127.0.0.0/8 address is loopback, so a test can be
many clients at once: a session bound to 127.0.0.23 reaches the local server from 127.0.0.23, which the server
reports as the request's ``sourceIp`` (``infra/local/peer_address.py``)."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str, **kwargs: Any) -> None:
        self._address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    """A browser-like session whose connections all leave from ``address``."""
    session = requests.Session()
    adapter = SourceAddressAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
