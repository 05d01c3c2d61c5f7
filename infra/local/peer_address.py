"""Chalice's local server with the client's real address: ``requestContext.identity.sourceIp`` is the TCP peer.

``chalice local`` puts a fixed 127.0.0.1 into every event, so every rule keyed on the source IP (throttles,
credential-stuffing blocks, deny lists) saw one client. API Gateway sets ``sourceIp`` from the connection; so
does this handler, from the socket's peer address. Headers such as ``X-Forwarded-For`` are never read: a client
cannot choose its address. On Linux every 127.0.0.0/8 address is loopback, so a test client that binds a source
address such as 127.0.0.23 is seen as that address.
"""

from __future__ import annotations

from chalice.local import ChaliceRequestHandler


class PeerAddressRequestHandler(ChaliceRequestHandler):
    """Chalice's handler, with the connection's peer as the events' ``sourceIp``. Each connection (HTTP/1.1
    keep-alive included) gets its own handler, gateway and event converter, and its peer never changes."""

    def _generic_handle(self) -> None:
        self.local_gateway.event_converter.LOCAL_SOURCE_IP = str(self.client_address[0])
        super()._generic_handle()

    # The base class binds its do_* names to its own _generic_handle: bind them to this one.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle
