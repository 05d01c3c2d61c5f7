"""Three CPU savings for the hot-path botocore client (``storage/connection.py``), all inside botocore's own request
path: the request is still serialized, signed (SigV4), sent with retries and its errors mapped by botocore.

* **One write per request.** urllib3 2 sends a request's headers and its body in two ``send`` calls (botocore's
  ``AWSConnection._send_output`` joins them, but urllib3 2 no longer hands it the body). Each write is a syscall and,
  over TLS, a record of its own; the connection classes here hold the header block back and write it together with
  an in-memory body. Requests with ``Expect: 100-continue`` (which must wait between the two), chunked or streamed
  bodies are sent as before.
* **A leaner JSON response parser.** botocore's parser visits every member of a structure for each one it parses:
  ten for each DynamoDB ``AttributeValue``, of which one is set. The parser here handles a structure holding a single
  member directly and looks up the handler of a shape type once; anything else goes to botocore's own code, so the
  parsed response is the same (``tests/unit/test_client_tuning.py`` compares them).
* **No retry-telemetry headers.** botocore's ``add_retry_headers`` handler adds ``amz-sdk-invocation-id`` and
  ``amz-sdk-request`` to every request, for the service's own statistics; DynamoDB needs neither, and each header
  costs its share of header handling and SigV4 canonicalization (~3 % of a call's instructions). Retries themselves
  are botocore's retry handler's business and unchanged.

They attach to one client through botocore attributes (``_endpoint``, its ``http_session`` pool classes and response
parser factory, the client's event handlers) that the unit tests pin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore import handlers
from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)
from botocore.parsers import JSONParser, ResponseParser, ResponseParserFactory

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import Shape


def writes_once(body: object, headers: Mapping[str, Any] | None, chunked: bool) -> bool:
    """Whether a request's header block may wait for its body: a non-empty in-memory body, sent unchunked, with no
    ``Expect: 100-continue`` (whose body must wait for the server's answer)."""
    if not isinstance(body, bytes) or not body or chunked:
        return False
    expect = headers.get("Expect", b"") if headers else b""
    return expect not in (b"100-continue", "100-continue")


class SingleWrite:
    """Mixed into botocore's connection classes: the header block (the first ``send`` of a request that
    ``writes_once``) is held and sent together with the body (the next ``send``)."""

    _hold = False
    _held: bytes | None = None

    def request(self, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any) -> None:
        self._hold = writes_once(body, headers, bool(kwargs.get("chunked")))
        self._held = None
        try:
            super().request(method, url, body, headers, **kwargs)  # type: ignore[misc]
        except BaseException:
            self._held, self._hold = None, False
            raise
        held, self._held, self._hold = self._held, None, False
        if held is not None:  # no body was sent after all: the headers still go out
            super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._hold:
            if self._held is None:
                self._held = data
                return
            data, self._held, self._hold = self._held + data, None, False
        super().send(data)  # type: ignore[misc]


class SingleWriteHTTPConnection(SingleWrite, AWSHTTPConnection):  # type: ignore[misc]  # botocore is untyped
    pass


class SingleWriteHTTPSConnection(SingleWrite, AWSHTTPSConnection):  # type: ignore[misc]  # botocore is untyped
    pass


class SingleWriteHTTPConnectionPool(AWSHTTPConnectionPool):  # type: ignore[misc]  # botocore is untyped
    ConnectionCls = SingleWriteHTTPConnection


class SingleWriteHTTPSConnectionPool(AWSHTTPSConnectionPool):  # type: ignore[misc]  # botocore is untyped
    ConnectionCls = SingleWriteHTTPSConnection


POOL_CLASSES = {"http": SingleWriteHTTPConnectionPool, "https": SingleWriteHTTPSConnectionPool}


class LeanJSONParser(JSONParser):  # type: ignore[misc]  # botocore is untyped
    """botocore's JSON protocol parser with two shortcuts that give the same result (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handlers: dict[str, Callable[[Shape, Any], Any]] = {}
        # id(shape) -> (shape, {name on the wire: (member name, member shape)}), or None when two members share a
        # wire name; the shape is kept so that its id is never reused.
        self._members: dict[int, tuple[Shape, dict[str, tuple[str, Shape]] | None]] = {}

    def _parse_shape(self, shape: Shape, node: Any) -> Any:
        handler = self._handlers.get(shape.type_name)
        if handler is None:
            found = getattr(self, f"_handle_{shape.type_name}", self._default_handle)
            handler = self._handlers[shape.type_name] = cast("Callable[[Shape, Any], Any]", found)
        return handler(shape, node)

    def _wire_names(self, shape: Shape) -> dict[str, tuple[str, Shape]] | None:
        known = self._members.get(id(shape))
        if known is None:
            members = shape.members  # type: ignore[attr-defined]  # a StructureShape
            names = {member.serialization.get("name", name): (name, member) for name, member in members.items()}
            known = self._members[id(shape)] = (shape, names if len(names) == len(members) else None)
        return known[1]

    def _handle_structure(self, shape: Shape, value: Any) -> Any:
        if type(value) is dict and len(value) == 1 and not shape.is_document_type and not shape.is_tagged_union:
            names = self._wire_names(shape)
            if names is not None:
                ((key, raw),) = value.items()
                member = names.get(key)
                if member is None or raw is None:
                    return {}
                return {member[0]: self._parse_shape(member[1], raw)}
        return super()._handle_structure(shape, value)


class LeanParsers(ResponseParserFactory):  # type: ignore[misc]  # botocore is untyped
    """botocore's parser factory, handing out one ``LeanJSONParser`` for the JSON protocol (botocore builds a new
    parser for every response; parsers keep no per-response state)."""

    def __init__(self) -> None:
        super().__init__()
        self._json: LeanJSONParser | None = None

    def create_parser(self, protocol_name: str) -> ResponseParser:
        if protocol_name != "json":
            return super().create_parser(protocol_name)
        if self._json is None:
            self._json = LeanJSONParser(**self._defaults)
        return self._json


def tune(client: BaseClient) -> BaseClient:
    """Give a freshly created client (no request sent yet) the three savings; returns it."""
    endpoint = client._endpoint  # type: ignore[attr-defined]
    endpoint.http_session._pool_classes_by_scheme.update(POOL_CLASSES)  # the dict its pool managers share
    endpoint._response_parser_factory = LeanParsers()
    client.meta.events.unregister("request-created", handlers.add_retry_headers)  # this client's copy of the hooks
    return client
