"""``./gatehouse serve [--memory] [--port P]``: the whole service on http://127.0.0.1:P with local AWS emulators.

Starts the local stack (DynamoDB Local on $GATEHOUSE_DYNAMODB_PORT or 8100, moto on $GATEHOUSE_MOTO_PORT or 8101),
creates the tables and state machines, seeds the demo tenant, prints where to go, and serves ``app.py`` with
Chalice's own local server (the same route handlers as deployed; threaded; no autoreload). Ctrl-C or SIGTERM stops
the HTTP server, moto and the DynamoDB Local JVM. Data lives in ``.local/dynamodb`` unless ``--memory``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

from infra.local import REPO_ROOT
from infra.local.emulators import EmulatorError, check_port_free
from infra.local.kms_store import KmsStoreError
from infra.local.stack import DATA_DIR, LocalStack, read_live_stack

DEFAULT_PORT = 8000
DEFAULT_DYNAMODB_PORT = 8100
DEFAULT_MOTO_PORT = 8101
PORTS_HINT = "; pick others with --port, GATEHOUSE_DYNAMODB_PORT, GATEHOUSE_MOTO_PORT"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gatehouse serve", description="Serve Gatehouse locally.")
    parser.add_argument("--memory", action="store_true", help="keep all data in memory (lost at exit)")
    parser.add_argument("--port", type=int, default=_env_int("GATEHOUSE_PORT", DEFAULT_PORT), help="HTTP port")
    return parser.parse_args(argv)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"gatehouse serve: {name} must be a port number, not {value!r}") from None


LISTEN_BACKLOG = 128


def create_server(port: int) -> Any:
    """Chalice's local server for stage ``local``, the way ``chalice local --no-autoreload`` builds it."""
    import functools

    from chalice.cli import factory
    from chalice.deploy.validate import validate_routes
    from chalice.local import create_local_server

    from infra.local.peer_address import PeerAddressRequestHandler

    config = factory.CLIFactory(str(REPO_ROOT)).create_config_obj(chalice_stage_name="local")
    validate_routes(config.chalice_app.routes)
    server = create_local_server(config.chalice_app, config, "127.0.0.1", port)
    # socketserver listens with a backlog of 5: a burst of browsers or test threads got "connection refused".
    # Listening again on the bound socket raises the backlog (Linux and macOS).
    server.server.socket.listen(LISTEN_BACKLOG)
    # The client's real address as the event's sourceIp (Chalice's own handler reports 127.0.0.1 for everyone).
    server.server.RequestHandlerClass = functools.partial(
        PeerAddressRequestHandler, app_object=server.app_object, config=config
    )
    return server


def banner(base_url: str, info: dict[str, Any], memory: bool) -> str:
    tenant = str(info.get("tenant", "demo"))
    issuer = f"{base_url}/t/{tenant}"
    shown = {
        "discovery": ("discovery", f"{issuer}/.well-known/openid-configuration"),
        "login_url": ("sign in", f"{issuer}/authorize"),
        "outbox": ("outbox", f"{base_url}/_local/outbox"),
    }
    lines = ["", f"Gatehouse is running on {base_url}  ({'in memory' if memory else f'data in {DATA_DIR}'})"]
    lines += [f"  {label:<10} {info.get(key, default)}" for key, (label, default) in shown.items()]
    lines += [f"  {'callback':<10} {base_url}/_local/callback", f"Demo tenant '{tenant}':"]
    lines += _flatten({key: value for key, value in info.items() if key not in shown and key != "tenant"}, "  ")
    lines += ["Ctrl-C stops the server and the emulators.", ""]
    return "\n".join(lines)


def _flatten(value: Any, indent: str) -> list[str]:
    lines: list[str] = []
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if isinstance(item, dict | list):
            lines.append(f"{indent}{key}:")
            lines += _flatten(item, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {item}")
    return lines


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def start_audit_stream() -> None:
    """Deliver the audit table's stream to the app's stream handler every second, as Lambda would."""
    import threading

    from infra.local.audit_stream import AuditStreamPoller

    poller = AuditStreamPoller()
    threading.Thread(target=poller.run, args=(threading.Event(),), name="audit-stream", daemon=True).start()


def start_audit_log_shipping() -> None:
    """Deliver the app's audit log lines to the ingest function every second, as the CloudWatch Logs subscription
    does in AWS."""
    import threading

    from infra.local.audit_log import AuditLogShipper

    shipper = AuditLogShipper()
    threading.Thread(target=shipper.run, args=(threading.Event(),), name="audit-log", daemon=True).start()


def serve(args: argparse.Namespace) -> int:
    running = read_live_stack()
    if running is not None:
        raise EmulatorError(f"gatehouse is already serving on port {running.app_port} (pid {running.pid})")
    check_port_free(args.port, "HTTP server")
    stack = LocalStack(
        memory=args.memory,
        data_dir=DATA_DIR,
        dynamodb_port=_env_int("GATEHOUSE_DYNAMODB_PORT", DEFAULT_DYNAMODB_PORT),
        moto_port=_env_int("GATEHOUSE_MOTO_PORT", DEFAULT_MOTO_PORT),
        app_port=args.port,
    )
    server = None
    try:
        stack.start()
        stack.provision()
        server = create_server(args.port)
        from infra.local.seed import seed_demo

        info = seed_demo(persist=not args.memory)
        stack.publish()
        print(banner(f"http://127.0.0.1:{args.port}", info, args.memory), flush=True)
        start_audit_stream()
        start_audit_log_shipping()
        server.serve_forever()
    except KeyboardInterrupt:
        print("\ngatehouse: stopping", file=sys.stderr, flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not interrupt the clean-up
            signal.signal(signum, signal.SIG_IGN)
        if server is not None:
            server.server.server_close()
        stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (nohup, &)
    try:
        return serve(args)
    except (EmulatorError, KmsStoreError, OSError) as error:
        hint = PORTS_HINT if "in use" in str(error) else ""
        print(f"gatehouse serve: error: {error}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
