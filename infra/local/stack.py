"""LocalStack: the whole local AWS stack for one process (``serve``, a CLI command, or a pytest session).

Start order matters: the emulators start on their ports, then the process environment is set (AWS endpoints,
emulator credentials, stage, public URL), and only then is ``chalicelib`` imported (``provision``), because
``chalicelib.config`` reads the environment once. boto3 and PynamoDB follow ``AWS_ENDPOINT_URL_DYNAMODB`` (DynamoDB
Local) and ``AWS_ENDPOINT_URL`` (moto, every other service) by themselves: the app has no local-only code paths.

On-disk stacks take an exclusive lock next to the data directory (one DynamoDB Local per database file), and a
serving stack publishes its ports in ``.local/stack.json`` so CLI commands attach to it instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from infra.local import LOCAL_DIR
from infra.local.audit_log import AUDIT_LOG_ENV, audit_log_path
from infra.local.emulators import DynamoDBLocal, EmulatorError, MotoServer, port_answers
from infra.local.kms_store import ACCOUNT_ID, ALIAS, DEFAULT_STORE, ensure_key
from infra.local.statemachines import PREFIX_ENV, arn_prefix, register_state_machines

REGION = "us-east-1"
DATA_DIR = LOCAL_DIR / "dynamodb"
STATE_FILE = LOCAL_DIR / "stack.json"
STATE_MACHINE_ROLE_ARN = "arn:aws:iam::123456789012:role/gatehouse-local-state-machines"
DEFAULT_EMAIL_SENDER = "no-reply@gatehouse.local"
LOCK_WAIT_SECONDS = 120.0
ALERTS_TOPIC = "gatehouse-local-security-alerts"  # chalicelib.config's default GATEHOUSE_ALERTS_TOPIC_ARN
ALERTS_EVENT_BUS = "gatehouse-local-security-alerts"  # GATEHOUSE_ALERTS_EVENT_BUS of the local stack


def ensure_event_bus(events: Any, name: str) -> None:
    """Create the EventBridge bus unless it exists (CreateEventBus refuses an existing name)."""
    from botocore.exceptions import ClientError

    try:
        events.create_event_bus(Name=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise


class StackLocked(EmulatorError):
    """Another process is using the on-disk data (``serve`` starting up, or another CLI command)."""


def settings_environment(app_port: int, owner_pid: int | None = None) -> dict[str, str]:
    """What chalicelib.config reads, plus emulator credentials (never real ones) and the region. ``owner_pid``: the
    process running the stack (default this one), whose audit log file the app writes to."""
    return {
        AUDIT_LOG_ENV: audit_log_path(app_port, owner_pid or os.getpid()),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "GATEHOUSE_STAGE": "local",
        "GATEHOUSE_KMS_KEY_ID": ALIAS,
        "GATEHOUSE_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        PREFIX_ENV: arn_prefix(REGION),
        "GATEHOUSE_ALERTS_EVENT_BUS": ALERTS_EVENT_BUS,
    }


def endpoint_environment(dynamodb_port: int, moto_port: int) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{dynamodb_port}",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "MOTO_PORT": str(moto_port),
    }


def apply_environment(values: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)  # a real profile or session must never mix with the emulators
    os.environ.update(values)


@dataclass(frozen=True)
class StackInfo:
    """The contents of ``.local/stack.json`` while ``serve`` runs."""

    pid: int
    dynamodb_port: int
    moto_port: int
    app_port: int

    def environment(self) -> dict[str, str]:
        return settings_environment(self.app_port, self.pid) | endpoint_environment(self.dynamodb_port, self.moto_port)


def read_live_stack(state_file: Path = STATE_FILE) -> StackInfo | None:
    """The running ``serve`` described by the state file, or None (no file, or a stale one)."""
    try:
        info = StackInfo(**json.loads(state_file.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    if not (port_answers(info.moto_port) and port_answers(info.dynamodb_port)):
        return None
    return info


def enable_audit_stream(session: Any) -> None:
    """The audit table streams new events (as the CDK stack configures it); idempotent."""
    from chalicelib.config import settings

    client = session.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"))
    table = client.describe_table(TableName=settings().audit_table)["Table"]
    if not table.get("StreamSpecification", {}).get("StreamEnabled"):
        client.update_table(
            TableName=settings().audit_table,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )


class LocalStack:
    """DynamoDB Local + in-process moto + the local KMS key, with the process environment pointing at them."""

    def __init__(
        self,
        memory: bool = False,
        data_dir: Path = DATA_DIR,
        dynamodb_port: int = 0,
        moto_port: int = 0,
        app_port: int = 8000,
        *,
        kms_store: Path | None = DEFAULT_STORE,
        state_file: Path = STATE_FILE,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self.memory = memory
        self.data_dir = data_dir
        self.app_port = app_port
        self.state_file = state_file
        self.lock_wait = lock_wait
        self.dynamodb = DynamoDBLocal(dynamodb_port, None if memory else data_dir)
        self.moto = MotoServer(moto_port)
        self._tmp = tempfile.TemporaryDirectory(prefix="gatehouse-kms-") if memory else None
        # In memory: the key still lives in a file (a temporary one), so it can be put back after a moto reset.
        self.kms_store = Path(self._tmp.name) / "keys.json" if self._tmp else kms_store
        self.kms_key_id = ""
        self._lock: IO[str] | None = None
        self._published = False

    @property
    def region(self) -> str:
        return REGION

    def environment(self) -> dict[str, str]:
        return settings_environment(self.app_port) | endpoint_environment(self.dynamodb.port, self.moto.port)

    def start(self) -> LocalStack:
        try:
            if not self.memory:
                self._take_lock()
            self.dynamodb.spawn()
            self.moto.start()  # while the JVM starts
            self.dynamodb.wait_until_ready()
            apply_environment(self.environment())
            self.kms_key_id = ensure_key(self.kms_store, region=REGION)
        except BaseException:
            self.stop()
            raise
        return self

    def provision(self) -> None:
        """Idempotent: tables, the SES sender identity, the state machines and the security alerts topic and bus."""
        import boto3

        from chalicelib.storage.schema import create_tables

        create_tables()
        enable_audit_stream(boto3.session.Session())
        self._provision_moto(boto3.session.Session())

    def _provision_moto(self, session: Any) -> None:
        sender = os.environ.get("GATEHOUSE_EMAIL_SENDER", DEFAULT_EMAIL_SENDER)
        session.client("ses").verify_email_identity(EmailAddress=sender)
        register_state_machines(session.client("stepfunctions"), STATE_MACHINE_ROLE_ARN)
        session.client("sns").create_topic(Name=ALERTS_TOPIC)  # idempotent: same name, same ARN
        ensure_event_bus(session.client("events"), ALERTS_EVENT_BUS)

    def ensure_moto_state(self) -> bool:
        """Put moto-side resources back if moto's backends were reset (``mock_aws`` does that); True if it had to."""
        from moto.kms.models import kms_backends

        if self.kms_key_id in kms_backends[ACCOUNT_ID][REGION].keys:
            return False
        import boto3

        ensure_key(self.kms_store, region=REGION)
        self._provision_moto(boto3.session.Session())
        return True

    def publish(self) -> None:
        """Write ``.local/stack.json`` so CLI processes attach to this stack."""
        info = StackInfo(os.getpid(), self.dynamodb.port, self.moto.port, self.app_port)
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info)))
        tmp.replace(self.state_file)
        self._published = True

    def stop(self) -> None:
        if self._published:
            self._published = False
            with contextlib.suppress(OSError):
                self.state_file.unlink()
        self.moto.stop()
        self.dynamodb.stop()
        with contextlib.suppress(OSError):
            os.unlink(audit_log_path(self.app_port, os.getpid()))
        if self._tmp is not None:
            self._tmp.cleanup()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def _take_lock(self) -> None:
        lock_path = self.data_dir.with_name(self.data_dir.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = lock_path.open("w")
        deadline = time.monotonic() + self.lock_wait
        announced = self.lock_wait < 5  # short waits are retried by the caller: no message
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StackLocked(f"another Gatehouse process keeps {self.data_dir} locked") from None
                if not announced:
                    print(f"waiting for another Gatehouse process using {self.data_dir} ...", file=sys.stderr)
                    announced = True
                time.sleep(0.2)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
