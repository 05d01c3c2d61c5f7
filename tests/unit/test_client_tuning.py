"""The hot-path client's tuning (``storage/client_tuning.py``) relies on botocore internals; these tests pin them:
where the parser factory, the retry-header handler and the endpoint resolution live, that requests are still signed
and retried, that kept endpoints are botocore's, and that the lean parser gives exactly botocore's result."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore import handlers
from botocore.config import Config
from botocore.parsers import JSONParser, ResponseParserFactory

from chalicelib.aws_session import session
from chalicelib.storage.client_tuning import (
    LeanJSONParser,
    LeanParsers,
    ResolvedEndpoints,
    tune,
)


def _dynamodb(**config: Any) -> Any:
    return session().create_client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        **config,
    )


def test_tune_installs_the_parser_where_botocore_takes_it_from() -> None:
    client = tune(_dynamodb())
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
    assert client.meta.config.account_id_endpoint_mode == "disabled"
    assert isinstance(client._ruleset_resolver.construct_endpoint.__self__, ResolvedEndpoints)
    hooks = client.meta.events._emitter._handlers.prefix_search("request-created.dynamodb.UpdateItem")
    assert handlers.add_retry_headers not in hooks and any("RequestSigner" in repr(hook) for hook in hooks)


def _answers(client: Any, statuses: list[int], ok_body: bytes = b"{}") -> list[dict[str, Any]]:
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
        body = ok_body if status == 200 else b'{"__type": "InternalServerError", "message": "try again"}'
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


# --- endpoints ---------------------------------------------------------------------------------------------------

DISABLED = {"account_id_endpoint_mode": "disabled"}
CALLS = [
    ("UpdateItem", {"TableName": "main", "Key": {}}),
    ("GetItem", {"TableName": "audit", "Key": {}}),
    ("GetItem", {"TableName": "arn:aws:dynamodb:eu-west-1:123456789012:table/main", "Key": {}}),
    ("BatchGetItem", {"RequestItems": {"main": {"Keys": []}}}),
    ("BatchGetItem", {"RequestItems": {"main": {"Keys": []}, "audit": {"Keys": []}}}),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "main", "Item": {}}}]}),
    ("ListTables", {}),
]


def _client(endpoint_url: str | None, **config: Any) -> Any:
    return session().create_client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=Config(**config),
    )


@pytest.mark.parametrize(
    ("endpoint_url", "config"),
    [("http://127.0.0.1:9", DISABLED), (None, DISABLED), (None, {**DISABLED, "use_fips_endpoint": True})],
)
def test_kept_endpoints_are_botocores(endpoint_url: str | None, config: dict[str, Any]) -> None:
    plain, tuned = _client(endpoint_url, **config), tune(_client(endpoint_url, **config))
    assert isinstance(tuned._ruleset_resolver.construct_endpoint.__self__, ResolvedEndpoints)
    model = plain.meta.service_model
    for _ in range(2):
        for operation, args in CALLS:
            expected = plain._ruleset_resolver.construct_endpoint(model.operation_model(operation), args, {})
            found = tuned._ruleset_resolver.construct_endpoint(model.operation_model(operation), args, {})
            assert (found.url, found.headers, found.properties) == (
                expected.url,
                expected.headers,
                expected.properties,
            )
    if endpoint_url is None:
        assert found.url.startswith("https://dynamodb") and "eu-west-1" in found.url


def test_endpoints_are_kept_per_operation_and_table_only_where_the_ruleset_reads_nothing_else() -> None:
    resolved: list[str] = []
    client = _client("http://127.0.0.1:9", **DISABLED)
    original = client._ruleset_resolver.construct_endpoint

    def counting(operation_model: Any, call_args: Any, request_context: Any) -> Any:
        resolved.append(operation_model.name)
        return original(operation_model, call_args, request_context)

    client._ruleset_resolver.construct_endpoint = counting
    tune(client)
    model = client.meta.service_model
    for _ in range(3):
        for operation, args in CALLS:
            client._ruleset_resolver.construct_endpoint(model.operation_model(operation), args, {})
    # once per (operation, tables); TransactWriteItems reads its tables through a JMESPath: every time
    assert resolved.count("UpdateItem") == 1 and resolved.count("GetItem") == 2 and resolved.count("ListTables") == 1
    assert resolved.count("BatchGetItem") == 2 and resolved.count("TransactWriteItems") == 3


def test_endpoints_are_resolved_every_time_when_they_may_depend_on_the_account() -> None:
    for config in ({}, {"account_id_endpoint_mode": "preferred"}, {"account_id_endpoint_mode": "required"}):
        client = tune(_client("http://127.0.0.1:9", **config))
        assert not isinstance(getattr(client._ruleset_resolver.construct_endpoint, "__self__", None), ResolvedEndpoints)


def test_requests_go_to_the_kept_endpoint() -> None:
    client = tune(_client("http://127.0.0.1:9/base", **DISABLED))
    sent = _answers(client, [200, 200])
    urls: list[str] = []
    client.meta.events.register("before-send.dynamodb", lambda request, **_: urls.append(request.url), unique_id="u")
    client.get_item(TableName="main", Key={"PK": {"S": "a"}})
    client.get_item(TableName="main", Key={"PK": {"S": "b"}})
    assert len(sent) == 2 and urls == ["http://127.0.0.1:9/base", "http://127.0.0.1:9/base"]


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


def test_the_lean_parsers_caches_stop_growing() -> None:
    """Its per-shape tables are keyed by shape identity: botocore hands out the same shape objects every call."""
    client = tune(_client("http://127.0.0.1:9", **DISABLED))
    item = {"a": {"S": "x"}, "m": {"M": {"b": {"L": [{"N": "1"}, {"BOOL": True}]}}}}
    _answers(client, [200] * 40, json.dumps({"Item": item, "Responses": {"t": [item]}}).encode())
    parser = client._endpoint._response_parser_factory.create_parser("json")
    sizes = []
    for _ in range(2):
        for _ in range(10):
            client.get_item(TableName="t", Key={"a": {"S": "x"}})
            client.batch_get_item(RequestItems={"t": {"Keys": [{"a": {"S": "x"}}]}})
        sizes.append((len(parser._members), len(parser._handlers)))
    assert sizes[0] == sizes[1] and sizes[0][0] >= 3
