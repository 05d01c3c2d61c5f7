"""Shared pieces of the benchmarks: the local stack, API Gateway REST proxy events, a Lambda context, a client
that drives the OIDC flows through ``app(event, context)``, and a counter of AWS requests by service and operation.

Import rule (as for the tests): nothing from ``chalicelib`` or ``app`` is imported at module level, because
``chalicelib.config`` reads the environment once, and the stack sets that environment when it starts.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

T = TypeVar("T", int, float)
QUICK = os.environ.get("GATEHOUSE_BENCH_QUICK") == "1"
INFO_ENV = "GATEHOUSE_BENCH_INFO"  # JSON of the seeded demo data, handed from a parent to its child processes
SERVICE_CLIENT_ID = "bench-svc"
SOURCE_IP = "203.0.113.7"
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def scaled(full: T, quick: T) -> T:
    """``full`` iterations normally, ``quick`` under ``GATEHOUSE_BENCH_QUICK=1`` (the smoke test)."""
    return quick if QUICK else full


# --- the local stack -------------------------------------------------------------------------------------------


class BenchStack:
    """In-memory DynamoDB Local + in-process moto, provisioned and seeded, plus a ``bench-svc`` service client.

    The seed's credentials file is redirected to a temporary directory, so a benchmark never overwrites the
    demo credentials of a developer's persistent ``./gatehouse serve``.
    """

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="gatehouse-bench-")
        self._stack: Any = None
        self.info: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        from infra.local.stack import LocalStack

        tmp = Path(self._tmp.name)
        self._stack = LocalStack(memory=True, app_port=8000, state_file=tmp / "stack.json").start()
        self._stack.provision()
        from infra.local import seed

        seed.CREDENTIALS_FILE = tmp / "demo-credentials.json"
        self.info = dict(seed.seed_demo())
        self.info["service_client_id"], self.info["service_client_secret"] = create_service_client()
        os.environ[INFO_ENV] = json.dumps(self.info)  # children inherit the stack's environment and this
        return self.info

    def child_environment(self, **extra: str) -> dict[str, str]:
        """The environment for a child process that attaches to this stack (endpoints, settings, seeded data)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env.update(extra)
        return env

    def stop(self) -> None:
        if self._stack is not None:
            self._stack.stop()
            self._stack = None
        self._tmp.cleanup()

    def __enter__(self) -> BenchStack:
        try:
            self.start()
            return self
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def create_service_client() -> tuple[str, str]:
    """The ``bench-svc`` service client (scope ``api``), created once; returns (client_id, secret)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    tenant = TenantId("demo")
    clients = container.clients()
    if clients.get(tenant, SERVICE_CLIENT_ID) is None:
        _, secret = clients.create(
            tenant, name="bench", client_type="service", scopes=["api"], client_id=SERVICE_CLIENT_ID
        )
    else:
        secret = clients.rotate_secret(tenant, SERVICE_CLIENT_ID)
    return SERVICE_CLIENT_ID, str(secret)


def inherited_info() -> dict[str, Any]:
    """The seeded data a parent process passed down (``BenchStack.start`` sets it)."""
    raw = os.environ.get(INFO_ENV)
    if not raw:
        raise RuntimeError(f"{INFO_ENV} is not set: run this child through its parent benchmark")
    info: dict[str, Any] = json.loads(raw)
    return info


# --- API Gateway events and the Lambda context -----------------------------------------------------------------


@dataclass
class LambdaContext:
    """The attributes of ``awslambdaric``'s context object that Chalice and handlers may touch."""

    function_name: str = "gatehouse-bench-ApiHandler"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-bench-ApiHandler"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/gatehouse-bench-ApiHandler"
    log_stream_name: str = "bench"
    deadline_ms: float = field(default_factory=lambda: time.time() * 1000 + 30_000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self.deadline_ms - time.time() * 1000))


def api_event(
    method: str,
    path: str,
    *,
    resource: str,
    path_params: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    source_ip: str = SOURCE_IP,
) -> dict[str, Any]:
    """An API Gateway REST API proxy-integration event (payload format 1.0), as Lambda receives it."""
    all_headers = {"Host": "127.0.0.1:8000", "User-Agent": "gatehouse-bench/1.0", "X-Forwarded-Proto": "http"}
    all_headers.update(headers or {})
    if body is not None:
        all_headers["Content-Length"] = str(len(body.encode()))
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": dict(query) if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "api",
            "path": f"/api{path}",
            "requestId": request_id,
            "accountId": "123456789012",
            "apiId": "bench",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": all_headers["User-Agent"]},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def tenant_event(method: str, tenant: str, route: str, **kwargs: Any) -> dict[str, Any]:
    """An event for ``/t/{tenant}/<route>`` (the resource keeps the ``{tenant}`` placeholder)."""
    return api_event(
        method, f"/t/{tenant}/{route}", resource=f"/t/{{tenant}}/{route}", path_params={"tenant": tenant}, **kwargs
    )


def response_cookies(response: dict[str, Any]) -> dict[str, str]:
    """name -> value of every Set-Cookie in a Lambda proxy response."""
    values: list[str] = list(response.get("multiValueHeaders", {}).get("Set-Cookie", []))
    single = response.get("headers", {}).get("Set-Cookie")
    if single:
        values.append(single)
    cookies = {}
    for header in values:
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    return cookies


# --- driving the flows -----------------------------------------------------------------------------------------


class FlowError(RuntimeError):
    """A request in a benchmarked flow did not answer as a successful flow must (the figures would be wrong)."""


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class Driver:
    """Calls the Chalice app exactly as Lambda does, one flow step per method."""

    def __init__(self, app: Callable[[dict[str, Any], Any], dict[str, Any]], info: dict[str, Any]) -> None:
        self.app = app
        self.info = info
        self.tenant = str(info["tenant"])

    def call(self, event: dict[str, Any], expect: int) -> dict[str, Any]:
        response = self.app(event, LambdaContext())
        if response.get("statusCode") != expect:
            raise FlowError(
                f"{event['httpMethod']} {event['path']}: {response.get('statusCode')} (wanted {expect}): "
                f"{str(response.get('body'))[:300]}"
            )
        return response

    def discovery(self) -> dict[str, Any]:
        return self.call(tenant_event("GET", self.tenant, ".well-known/openid-configuration"), 200)

    def jwks(self) -> dict[str, Any]:
        return self.call(tenant_event("GET", self.tenant, ".well-known/jwks.json"), 200)

    def token(self, form: dict[str, str], client_id: str, secret: str) -> dict[str, Any]:
        headers = {**FORM_HEADERS, "Authorization": basic_auth(client_id, secret)}
        response = self.call(tenant_event("POST", self.tenant, "token", headers=headers, body=urlencode(form)), 200)
        body: dict[str, Any] = json.loads(response["body"])
        return body

    def client_credentials(self) -> dict[str, Any]:
        info = self.info
        return self.token(
            {"grant_type": "client_credentials"}, info["service_client_id"], info["service_client_secret"]
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.token(form, self.info["web_client_id"], self.info["web_client_secret"])

    def userinfo(self, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        body: dict[str, Any] = json.loads(
            self.call(tenant_event("GET", self.tenant, "userinfo", headers=headers), 200)["body"]
        )
        return body

    def authorize(self) -> tuple[dict[str, str], dict[str, str]]:
        """GET /authorize without a session: (hidden form fields of the login page, cookies it set)."""
        query = {
            "client_id": [self.info["web_client_id"]],
            "response_type": ["code"],
            "scope": ["openid profile email"],
            "redirect_uri": [self.info["web_redirect_uri"]],
            "state": [uuid.uuid4().hex],
            "nonce": [uuid.uuid4().hex],
        }
        response = self.call(tenant_event("GET", self.tenant, "authorize", query=query), 200)
        fields = {name: unescape(value) for name, value in HIDDEN_INPUT.findall(response["body"])}
        if "flow" not in fields or "csrf" not in fields:
            raise FlowError("the login page has no flow/csrf fields")
        return fields, response_cookies(response)

    def login(self, fields: dict[str, str], cookies: dict[str, str], email: str, password: str) -> str:
        """POST /login with the page's flow and CSRF token and the gh_csrf cookie; returns the code."""
        cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = urlencode({"flow": fields["flow"], "csrf": fields["csrf"], "email": email, "password": password})
        headers = {**FORM_HEADERS, "Cookie": cookie_header}
        response = self.call(tenant_event("POST", self.tenant, "login", headers=headers, body=body), 303)
        location = str(response["headers"]["Location"])
        codes = parse_qs(urlsplit(location).query).get("code")
        if not codes:
            raise FlowError(f"login redirected without a code: {location[:200]}")
        return codes[0]

    def exchange(self, code: str) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.info["web_redirect_uri"]}
        return self.token(form, self.info["web_client_id"], self.info["web_client_secret"])

    def password_login(self, email: str, password: str) -> dict[str, Any]:
        """authorize GET -> login POST -> token POST: the tokens of a full browser sign-in."""
        fields, cookies = self.authorize()
        return self.exchange(self.login(fields, cookies, email, password))


# --- counting AWS requests -------------------------------------------------------------------------------------


class RequestCounter:
    """Counts every botocore request (PynamoDB's and boto3's) by (service, operation).

    Patches ``botocore.endpoint.Endpoint.make_request``, which every client funnels through once per API call
    (retries happen below it; ``http_attempts`` counts those separately).
    """

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.http_attempts: Counter[str] = Counter()
        self._restore: list[Callable[[], None]] = []

    def install(self) -> RequestCounter:
        from botocore.endpoint import Endpoint

        counter = self
        make_request = Endpoint.make_request
        send = Endpoint._send

        def counted_make_request(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            counter.calls[(operation_model.service_model.endpoint_prefix, operation_model.name)] += 1
            return make_request(endpoint, operation_model, request_dict)

        def counted_send(endpoint: Any, request: Any) -> Any:
            counter.http_attempts[endpoint._endpoint_prefix] += 1
            return send(endpoint, request)

        Endpoint.make_request = counted_make_request
        Endpoint._send = counted_send

        def restore() -> None:
            Endpoint.make_request = make_request
            Endpoint._send = send

        self._restore.append(restore)
        return self

    def uninstall(self) -> None:
        while self._restore:
            self._restore.pop()()

    def snapshot(self) -> Counter[tuple[str, str]]:
        return Counter(self.calls)

    @contextlib.contextmanager
    def window(self) -> Iterator[Counter[tuple[str, str]]]:
        """Yields a Counter that holds, after the block, the calls made inside it."""
        before = self.snapshot()
        delta: Counter[tuple[str, str]] = Counter()
        try:
            yield delta
        finally:
            delta.update(self.calls - before)


def dynamodb_ops(calls: Counter[tuple[str, str]]) -> Counter[str]:
    return Counter({op: n for (service, op), n in calls.items() if service == "dynamodb"})


def other_ops(calls: Counter[tuple[str, str]]) -> Counter[str]:
    """Anything but DynamoDB (KMS, SES, ...): must be empty inside a measured window."""
    return Counter({f"{service}:{op}": n for (service, op), n in calls.items() if service != "dynamodb"})


def describe_ops(ops: Counter[str], per: int = 1) -> str:
    return ", ".join(f"{op} {n / per:g}" for op, n in sorted(ops.items())) or "none"


# --- measuring -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """A loop of ``iterations`` steps, run ``len(rounds)`` times: this process's CPU and wall seconds of the median
    round (by CPU), every round's rate (the spread), and the AWS calls of all rounds."""

    iterations: int
    cpu_seconds: float
    wall_seconds: float
    calls: Counter[tuple[str, str]]
    rounds: tuple[float, ...] = ()  # per-CPU-second rate of each round

    @property
    def per_cpu_second(self) -> float:
        return self.iterations / self.cpu_seconds if self.cpu_seconds > 0 else float("inf")

    @property
    def cpu_ms_each(self) -> float:
        return 1000 * self.cpu_seconds / self.iterations

    @property
    def wall_ms_each(self) -> float:
        return 1000 * self.wall_seconds / self.iterations

    @property
    def spread(self) -> str:
        """``min-max`` of the rounds' rates (empty for a single round)."""
        return f"{min(self.rounds):,.0f}-{max(self.rounds):,.0f}" if len(self.rounds) > 1 else ""

    @property
    def total_iterations(self) -> int:
        return self.iterations * max(1, len(self.rounds))

    def dynamodb_per_iteration(self) -> float:
        return sum(dynamodb_ops(self.calls).values()) / self.total_iterations


def measure(counter: RequestCounter, iterations: int, step: Callable[[int], object], rounds: int = 1) -> Measurement:
    """Run ``step(i)`` ``iterations`` times per round and measure this process's CPU time; reports the median round.

    Fails if anything but DynamoDB was called inside the window (a KMS call there would put moto's in-process CPU
    into the figure). Several rounds show the noise of a shared machine (the DynamoDB Local JVM runs beside us).
    """
    timings: list[tuple[float, float]] = []
    with counter.window() as calls:
        for _ in range(rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(iterations):
                step(i)
            timings.append((time.process_time() - cpu, time.perf_counter() - wall))
    if other_ops(calls):
        raise FlowError(f"non-DynamoDB AWS calls inside the measured window: {describe_ops(other_ops(calls))}")
    cpu, wall = sorted(timings)[len(timings) // 2]
    rates = tuple(iterations / c if c > 0 else float("inf") for c, _ in timings)
    return Measurement(iterations, cpu, wall, calls, rates)


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "meets target" if ok else "BELOW target" if higher_is_better else "ABOVE target"


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def emit_result(name: str, values: dict[str, Any]) -> None:
    """One machine-readable line for run_all.py: ``BENCH-RESULT {"name": ..., ...}``."""
    print("BENCH-RESULT " + json.dumps({"name": name, **values}, sort_keys=True), flush=True)


def load_app() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from app import app

    return app
