"""``./gatehouse <tenant|client|user|token|idp> ...``: run one operator command against the local stage.

If ``./gatehouse serve`` is running (``.local/stack.json`` names a live process), the command talks to its
emulators, so what it writes is visible to the running service at once. Otherwise it starts an ephemeral stack on
the same on-disk data (DynamoDB Local on a free port, in-process moto with the saved KMS key), provisions it
(idempotent), runs the command and stops the stack. Usage errors and ``--help`` need no stack at all.

The command itself is ``chalicelib.cli.main``: JSON on stdout, its exit code returned; any failure here is one
line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

from infra.local.stack import LocalStack, StackLocked, apply_environment, read_live_stack, settings_environment

HELP_FLAGS = {"-h", "--help"}
WAIT_FOR_DATA_SECONDS = 120.0


def _run_command(argv: list[str]) -> int:
    from chalicelib.cli import main as cli_main

    return int(cli_main(argv) or 0)


def _needs_stack(argv: list[str]) -> bool:
    """False for help and for arguments the CLI's parser rejects (it reports them itself, without AWS)."""
    if not argv or HELP_FLAGS & set(argv):
        return False
    from chalicelib import cli

    build_parser = getattr(cli, "build_parser", None)
    if build_parser is None:
        return True
    try:
        build_parser().parse_args(argv)
    except (Exception, SystemExit):  # noqa: BLE001 - any parse failure: let the CLI report it
        return False
    return True


def run(argv: list[str]) -> int:
    # The environment is complete before chalicelib is imported: its settings are read once.
    live = read_live_stack()
    if live is not None:
        apply_environment(live.environment())
        return _run_command(argv)
    app_port = int(os.environ.get("GATEHOUSE_PORT") or 8000)
    apply_environment(settings_environment(app_port))
    if not _needs_stack(argv):
        return _run_command(argv)
    deadline = time.monotonic() + WAIT_FOR_DATA_SECONDS
    while True:
        try:
            with LocalStack(memory=False, app_port=app_port, lock_wait=1.0) as stack:
                stack.provision()
                try:
                    return _run_command(argv)
                finally:
                    ship_audit_log()
        except StackLocked:
            # `serve` starting up (it publishes .local/stack.json once ready) or another command: wait for either
            if time.monotonic() > deadline:
                raise
            live = read_live_stack()
            if live is not None:
                apply_environment(live.environment())
                return _run_command(argv)


def ship_audit_log() -> None:
    """No ``serve`` ships this command's audit log lines (e.g. ``token admin``'s token.issue): deliver them now,
    then drop the file."""
    from infra.local.audit_log import AUDIT_LOG_ENV, AuditLogShipper

    AuditLogShipper().ship_once()
    with contextlib.suppress(OSError):
        os.unlink(os.environ.get(AUDIT_LOG_ENV, ""))


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        print("gatehouse: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (``| head``): not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - one line, never a traceback, for operators
        message = " ".join(str(error).split())[:500] or type(error).__name__
        print(f"gatehouse: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
