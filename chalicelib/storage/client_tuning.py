"""Three CPU savings for the hot-path botocore client (``storage/connection.py``), all inside botocore's own request
path: the request is still serialized, signed (SigV4), sent with retries and its errors mapped by botocore.

* **A leaner JSON response parser.** botocore's parser visits every member of a structure for each one it parses:
  ten for each DynamoDB ``AttributeValue``, of which one is set. The parser here handles a structure holding a single
  member directly and looks up the handler of a shape type once; anything else goes to botocore's own code, so the
  parsed response is the same (``tests/unit/test_client_tuning.py`` compares them).
* **No retry-telemetry headers.** botocore's ``add_retry_headers`` handler adds ``amz-sdk-invocation-id`` and
  ``amz-sdk-request`` to every request, for the service's own statistics; DynamoDB needs neither, and each header
  costs its share of header handling and SigV4 canonicalization (~3 % of a call's instructions). Retries themselves
  are botocore's retry handler's business and unchanged.
* **The endpoint resolved once per operation and table.** botocore runs the DynamoDB endpoint ruleset's parameter
  collection for every call (~6 % of a call's instructions), though its inputs are the client's fixed settings
  (region, endpoint URL, FIPS, dual-stack: set when the client is created) and the call's table names. The
  resolution is kept per (operation, table names); operations whose ruleset parameters read anything else, and
  clients whose endpoint can depend on the credentials' account id (``account_id_endpoint_mode`` not
  ``disabled``), resolve every time as before.

They attach to one client through botocore attributes (``_endpoint._response_parser_factory``, the client's event
handlers, ``_ruleset_resolver.construct_endpoint``) that the unit tests pin.

Measured with ``callgrind`` (instructions, which the load of a shared machine does not disturb) on one refresh
``UpdateItem`` against a canned local endpoint: 3.73 M instructions per call before, 3.16 M with all three (parser
-7.6 %, headers -3.6 %, endpoint -5.8 %). Joining the header block and the body into one socket write was tried as
well and dropped: no fewer instructions and no measurable CPU difference here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore import handlers
from botocore.parsers import JSONParser, ResponseParser, ResponseParserFactory

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import Shape


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


TABLES_OF_BATCH = (
    "keys(RequestItems)"  # the one operation-context parameter path kept per call: BatchGetItem/-WriteItem
)


class ResolvedEndpoints:
    """Stands in for a client's ``EndpointRulesetResolver.construct_endpoint``: botocore's result, kept per
    operation and the call values its ruleset parameters read (see the module docstring)."""

    def __init__(self, construct_endpoint: Callable[..., Any]) -> None:
        self._construct_endpoint = construct_endpoint
        self._found: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def key(operation_model: Any, call_args: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """(operation, values the ruleset reads from the call), or None when they cannot be told cheaply."""
        values: list[Any] = [operation_model.name]
        for parameter in operation_model.context_parameters:
            value = call_args.get(parameter.member_name)
            if value is not None and not isinstance(value, str):
                return None
            values.append(value)
        paths = operation_model.operation_context_parameters  # [] or {name: {"path": JMESPath}}
        if paths:
            if not isinstance(paths, Mapping) or any(p.get("path") != TABLES_OF_BATCH for p in paths.values()):
                return None
            values.append(tuple(call_args.get("RequestItems") or ()))
        return tuple(values)

    def construct_endpoint(self, operation_model: Any, call_args: Any, request_context: Any) -> Any:
        key = self.key(operation_model, call_args or {})
        if key is None:
            return self._construct_endpoint(operation_model, call_args, request_context)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._construct_endpoint(operation_model, call_args, request_context)
        return found


def keeps_endpoints(client: BaseClient) -> bool:
    """Whether the client's endpoint depends only on its settings and the call: account-id endpoints off, no
    handler customizing the resolution."""
    service = client.meta.service_model.service_id.hyphenize()
    customized = client.meta.events._emitter._handlers.prefix_search(f"before-endpoint-resolution.{service}")
    resolver = getattr(client, "_ruleset_resolver", None)
    return resolver is not None and client.meta.config.account_id_endpoint_mode == "disabled" and not customized


def tune(client: BaseClient) -> BaseClient:
    """Give a freshly created client (no request sent yet) the three savings; returns it."""
    endpoint = client._endpoint  # type: ignore[attr-defined]
    endpoint._response_parser_factory = LeanParsers()
    client.meta.events.unregister("request-created", handlers.add_retry_headers)  # this client's copy of the hooks
    if keeps_endpoints(client):
        resolver = client._ruleset_resolver  # type: ignore[attr-defined]
        resolver.construct_endpoint = ResolvedEndpoints(resolver.construct_endpoint).construct_endpoint
    return client
