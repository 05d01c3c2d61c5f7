"""The hot-path client's tuning (``storage/client_tuning.py``) relies on botocore and urllib3 internals; these tests
pin them: where the pool classes and the parser factory live, how urllib3 writes a request, and that the lean
parser gives exactly botocore's result."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest
from botocore import handlers
from botocore.awsrequest import AWSHTTPConnection, AWSHTTPSConnection
from botocore.config import Config
from botocore.parsers import JSONParser, ResponseParserFactory

from chalicelib.aws_session import session
from chalicelib.storage.client_tuning import (
    POOL_CLASSES,
    LeanJSONParser,
    LeanParsers,
    SingleWriteHTTPConnection,
    SingleWriteHTTPSConnection,
    tune,
    writes_once,
)


class RecordingSocket:
    """Stands in for the connection's socket: records every write, answers nothing."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def settimeout(self, _timeout: object) -> None:
        pass


def _written(connection_class: type, body: Any, headers: dict[str, Any], **kwargs: Any) -> list[bytes]:
    connection = connection_class("127.0.0.1", 9)
    connection.sock = RecordingSocket()
    connection.request("POST", "/", body=body, headers=headers, **kwargs)
    writes: list[bytes] = connection.sock.writes
    return writes


def _dynamodb(**config: Any) -> Any:
    return session().create_client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        **config,
    )


HEADERS = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": "13", "X-Amz-Target": "T"}


def test_botocore_writes_headers_and_body_separately_under_urllib3_2() -> None:
    """What the tuning is for: botocore's own connection makes two writes per request."""
    writes = _written(AWSHTTPConnection, b'{"TableName"}', HEADERS)
    assert len(writes) == 2 and writes[1] == b'{"TableName"}' and writes[0].endswith(b"\r\n\r\n")


def test_a_request_with_an_in_memory_body_is_one_write_with_the_same_bytes() -> None:
    plain = b"".join(_written(AWSHTTPConnection, b'{"TableName"}', HEADERS))
    writes = _written(SingleWriteHTTPConnection, b'{"TableName"}', HEADERS)
    assert writes == [plain]
    assert plain.startswith(b"POST / HTTP/1.1\r\n") and plain.endswith(b'\r\n\r\n{"TableName"}')


@pytest.mark.parametrize(
    ("body", "headers", "chunked"),
    [
        (b"", {}, False),  # no body
        (None, {}, False),
        (b"{}", {**HEADERS, "Expect": b"100-continue"}, False),  # the body must wait for the server
        (b"{}", {**HEADERS, "Expect": "100-continue"}, False),
        (b"{}", {}, True),  # chunked
    ],
)
def test_requests_that_must_not_or_cannot_be_joined_are_sent_as_before(
    body: Any, headers: dict[str, Any], chunked: bool
) -> None:
    assert not writes_once(body, headers, chunked)


def test_a_streamed_body_is_sent_as_before() -> None:
    import io

    stream = io.BytesIO(b'{"TableName"}')
    writes = _written(SingleWriteHTTPConnection, stream, HEADERS)
    assert len(writes) == 2 and writes[1] == b'{"TableName"}'


class FailingSocket(RecordingSocket):
    def sendall(self, data: bytes) -> None:
        raise BrokenPipeError("gone")


def test_a_failed_write_raises_and_leaves_nothing_held() -> None:
    connection = SingleWriteHTTPConnection("127.0.0.1", 9)
    connection.sock = FailingSocket()
    with pytest.raises(BrokenPipeError):
        connection.request("POST", "/", body=b'{"TableName"}', headers=HEADERS)
    assert connection._held is None and not connection._hold


def test_https_connections_get_the_same_behaviour() -> None:
    assert issubclass(SingleWriteHTTPSConnection, AWSHTTPSConnection)
    assert POOL_CLASSES["https"].ConnectionCls is SingleWriteHTTPSConnection
    assert POOL_CLASSES["http"].ConnectionCls is SingleWriteHTTPConnection


def test_one_request_over_a_real_socket_arrives_whole() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        peer, _ = server.accept()
        with peer:
            data = b""
            while not data.endswith(b'{"TableName"}'):
                data += peer.recv(65536)
            received.append(data)
            peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=serve)
    thread.start()
    connection = SingleWriteHTTPConnection("127.0.0.1", port)
    connection.request("POST", "/", body=b'{"TableName"}', headers=HEADERS)
    response = connection.getresponse()
    assert response.status == 200 and response.data == b"{}"
    thread.join(5)
    connection.close()
    server.close()
    assert received[0].startswith(b"POST / HTTP/1.1\r\n")


def test_tune_installs_both_through_the_attributes_botocore_uses() -> None:
    client = tune(_dynamodb())
    http_session = client._endpoint.http_session
    assert http_session._pool_classes_by_scheme["http"] is POOL_CLASSES["http"]
    assert http_session._manager.pool_classes_by_scheme is http_session._pool_classes_by_scheme
    pool = http_session._manager.connection_from_url("http://127.0.0.1:9/")
    assert isinstance(pool, POOL_CLASSES["http"])
    factory = client._endpoint._response_parser_factory
    assert isinstance(factory, LeanParsers)
    assert isinstance(factory.create_parser("json"), LeanJSONParser)
    assert factory.create_parser("json") is factory.create_parser("json")
    assert type(factory.create_parser("rest-json")) is type(ResponseParserFactory().create_parser("rest-json"))
    assert client.meta.service_model.protocol == "json"


def test_the_hot_path_client_is_tuned() -> None:
    from chalicelib.storage.connection import hot_path_client

    client = hot_path_client()
    assert isinstance(client._endpoint._response_parser_factory, LeanParsers)
    assert client._endpoint.http_session._pool_classes_by_scheme == POOL_CLASSES
    hooks = client.meta.events._emitter._handlers.prefix_search("request-created.dynamodb.UpdateItem")
    assert handlers.add_retry_headers not in hooks and any("RequestSigner" in repr(hook) for hook in hooks)


def _answers(client: Any, statuses: list[int]) -> list[dict[str, Any]]:
    """Answer the client's requests from ``statuses`` instead of the network; returns the headers it sent."""
    from botocore.awsrequest import AWSResponse

    sent: list[dict[str, Any]] = []
    replies = list(statuses)

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_kwargs: object) -> Any:
            yield self.body

    def before_send(request: Any, **_kwargs: object) -> AWSResponse:
        sent.append(dict(request.headers))
        status = replies.pop(0)
        body = b"{}" if status == 200 else b'{"__type": "InternalServerError", "message": "try again"}'
        return AWSResponse(request.url, status, {"x-amzn-requestid": "r"}, Raw(body))

    client.meta.events.register("before-send.dynamodb", before_send)
    return sent


def test_requests_are_still_signed_and_retried_without_the_retry_headers() -> None:
    config = {"config": Config(retries={"total_max_attempts": 3, "mode": "standard"})}
    plain, tuned = _dynamodb(**config), tune(_dynamodb(**config))
    assert handlers.add_retry_headers in plain.meta.events._emitter._handlers.prefix_search("request-created.dynamodb")
    sent_plain = _answers(plain, [200])
    plain.get_item(TableName="t", Key={"PK": {"S": "a"}})
    assert "amz-sdk-invocation-id" in sent_plain[0] and "amz-sdk-request" in sent_plain[0]

    sent = _answers(tuned, [500, 500, 200])
    assert tuned.get_item(TableName="t", Key={"PK": {"S": "a"}})["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(sent) == 3
    for headers in sent:
        assert headers["Authorization"].startswith(b"AWS4-HMAC-SHA256 Credential=a/")
        assert "X-Amz-Date" in headers
        assert "amz-sdk-invocation-id" not in headers and "amz-sdk-request" not in headers


# --- the parser ------------------------------------------------------------------------------------------------

ITEM = {
    "PK": {"S": "T#demo#GRANT#abc"},
    "n": {"N": "12"},
    "b": {"B": "aGVsbG8="},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": ["aGk="]},
    "m": {"M": {"x": {"S": "y"}, "l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"M": {}}]}}},
    "nul": {"NULL": True},
    "f": {"BOOL": False},
    "unknown": {"ZZ": "ignored"},  # a member this botocore does not know
    "empty": {},
    "two": {"S": "a", "N": "1"},
}
RESPONSES = {
    "UpdateItem": {"Attributes": ITEM, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}},
    "GetItem": {"Item": ITEM},
    "BatchGetItem": {
        "Responses": {"t": [ITEM, {"PK": {"S": "x"}}]},
        "UnprocessedKeys": {"t": {"Keys": [{"PK": {"S": "y"}}], "ConsistentRead": True}},
    },
    "Query": {"Items": [ITEM], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"PK": {"S": "z"}}},
    "DescribeTable": {"Table": {"TableName": "t", "CreationDateTime": 1700000000.5, "ItemCount": 3}},
}


def _response(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return {
        "status_code": status,
        "headers": {"x-amzn-requestid": "r1", "content-type": "application/x-amz-json-1.0"},
        "body": json.dumps(body).encode(),
        "context": {"operation_name": "x"},
    }


@pytest.mark.parametrize("operation", sorted(RESPONSES))
def test_the_lean_parser_gives_botocores_result(operation: str) -> None:
    model = _dynamodb().meta.service_model.operation_model(operation)
    lean = LeanParsers().create_parser("json")
    for _ in range(2):  # a second parse goes through the parser's caches
        parsed = lean.parse(_response(RESPONSES[operation]), model.output_shape)
        expected = JSONParser().parse(_response(RESPONSES[operation]), model.output_shape)
        assert parsed == expected
        assert json.dumps(parsed, default=str) == json.dumps(expected, default=str)  # same order, too


def test_the_lean_parser_parses_errors_as_botocore() -> None:
    model = _dynamodb().meta.service_model.operation_model("UpdateItem")
    error = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "failed"}
    parsed = LeanParsers().create_parser("json").parse(_response(error, 400), model.output_shape)
    assert parsed == JSONParser().parse(_response(error, 400), model.output_shape)
    assert parsed["Error"]["Code"] == "ConditionalCheckFailedException"
