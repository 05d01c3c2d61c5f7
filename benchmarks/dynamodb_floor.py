"""The CPU floor under every warm flow: one DynamoDB GetItem of the same item through each client layer.

  * PynamoDB ``Model.get`` (what the repositories do: request building, botocore, model instantiation);
  * PynamoDB ``Connection.get_item`` (no model);
  * botocore ``client.get_item`` (PynamoDB's own client: parameter validation off);
  * a lean client: one urllib3 keep-alive pool, hand-built SigV4 (signing key cached per day), ``json``.

The lean client is a measuring stick, not a recommendation to drop the SDK wholesale; it shows how much of a
call is SDK overhead rather than HTTP and JSON. Usage: .venv/bin/python benchmarks/dynamodb_floor.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import BenchStack, Measurement, RequestCounter, emit_result, measure, print_table, scaled

TARGET = "DynamoDB_20120810"


class LeanDynamoDB:
    """A minimal DynamoDB JSON-protocol client (no retries, no error mapping): the cost of HTTP + SigV4 + JSON."""

    def __init__(self, endpoint: str, region: str, access_key: str, secret_key: str) -> None:
        import urllib3

        parts = urlsplit(endpoint)
        self.host, self.path, self.region = parts.netloc, parts.path or "/", region
        self.access_key, self.secret_key = access_key, secret_key
        self.pool = urllib3.connection_from_url(endpoint, maxsize=1)
        self._keys: dict[str, bytes] = {}

    def _signing_key(self, day: str) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = f"AWS4{self.secret_key}".encode()
            for part in (day, self.region, "dynamodb", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}
        return key

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        amz_date = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        headers = {
            "content-type": "application/x-amz-json-1.0",
            "host": self.host,
            "x-amz-date": amz_date,
            "x-amz-target": f"{TARGET}.{operation}",
        }
        signed = ";".join(headers)  # already sorted
        canonical = "\n".join(
            [
                "POST",
                self.path,
                "",
                "".join(f"{k}:{v}\n" for k, v in headers.items()),
                signed,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{day}/{self.region}/dynamodb/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
        response = self.pool.urlopen("POST", self.path, body=body, headers=headers, retries=False)
        data: dict[str, Any] = json.loads(response.data)
        if response.status != 200:
            raise RuntimeError(f"{operation}: {response.status} {data}")
        return data


def run() -> dict[str, float]:
    with BenchStack():
        from chalicelib.core.ids import TenantId
        from chalicelib.storage import keys
        from chalicelib.storage.models import ClientItem, MainItem

        pk, sk = keys.client(TenantId("demo"), "demo-web"), "CLIENT"
        table = MainItem.Meta.table_name
        connection = MainItem._get_connection().connection
        lean = LeanDynamoDB(
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
            os.environ["AWS_REGION"],
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
        )
        key = {"PK": {"S": pk}, "SK": {"S": sk}}
        layers: dict[str, Callable[[int], object]] = {
            "PynamoDB Model.get": lambda _i: ClientItem.get(pk, sk),
            "PynamoDB Connection.get_item": lambda _i: connection.get_item(table, pk, sk),
            "botocore client.get_item": lambda _i: connection.client.get_item(TableName=table, Key=key),
            "lean: urllib3 + SigV4 + json": lambda _i: lean.call("GetItem", {"TableName": table, "Key": key}),
        }
        if lean.call("GetItem", {"TableName": table, "Key": key}).get("Item") is None:
            raise RuntimeError("the lean client did not find the item")
        counter = RequestCounter().install()
        n, rounds = scaled(500, 10), scaled(5, 1)
        for step in layers.values():  # warm up: imports, connections, DynamoDB Local's JIT
            for i in range(200):
                step(i)
        runs: dict[str, list[Measurement]] = {name: [] for name in layers}
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits every layer alike
            for name, step in layers.items():
                runs[name].append(measure(counter, n, step))
        counter.uninstall()
    results = {name: sorted(ms, key=lambda m: m.cpu_seconds)[len(ms) // 2] for name, ms in runs.items()}

    print(
        f"\n== one GetItem (a client item, ~1 KB) per client layer: CPU of this process, median of {rounds}"
        f" interleaved rounds of {n} calls =="
    )
    floor = results["lean: urllib3 + SigV4 + json"].cpu_ms_each
    print_table(
        [
            (
                name,
                f"{m.cpu_ms_each * 1000:.0f}",
                f"{m.per_cpu_second:,.0f}",
                "-".join(f"{1000 * f(r.cpu_ms_each for r in runs[name]):.0f}" for f in (min, max)),
                f"{m.cpu_ms_each / floor:.1f}x",
                f"{m.wall_ms_each:.2f}",
            )
            for name, m in results.items()
        ],
        ("layer", "CPU us per call", "calls per CPU-s", "rounds (us)", "vs lean", "wall ms"),
    )
    figures: dict[str, float] = {name: round(m.cpu_ms_each * 1000) for name, m in results.items()}
    emit_result("dynamodb_floor", {"cpu_us_per_getitem": figures})
    return figures


if __name__ == "__main__":
    run()
