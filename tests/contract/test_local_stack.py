"""The local AWS stack is what it claims to be: DynamoDB Local for tables, moto for the rest, wired to our code."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import REPO_ROOT
from infra.local.emulators import DynamoDBLocal
from infra.local.kms_store import ACCOUNT_ID, ensure_key
from infra.local.lambda_bridge import function_name_of, install_lambda_bridge
from infra.local.stack import STATE_MACHINE_ROLE_ARN, StackInfo, read_live_stack
from infra.local.statemachines import register_state_machines, render_definition

pytestmark = pytest.mark.stack


def _client(service: str, region: str = "us-east-1") -> Any:
    return boto3.session.Session().client(service, region_name=region)


# --- DynamoDB ------------------------------------------------------------------------------------------------------


def test_tables_live_in_dynamodb_local_not_moto(local_stack: Any) -> None:
    from chalicelib.config import settings

    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == local_stack.dynamodb.endpoint
    assert os.environ["AWS_ENDPOINT_URL"] == local_stack.moto.endpoint
    listed = _client("dynamodb").list_tables()
    assert "Jetty" in listed["ResponseMetadata"]["HTTPHeaders"]["server"]  # DynamoDB Local, not moto's Werkzeug
    assert settings().main_table in listed["TableNames"]
    assert settings().audit_table in listed["TableNames"]


def test_transact_write_with_failing_condition_writes_nothing(local_stack: Any) -> None:
    from pynamodb.attributes import UnicodeAttribute
    from pynamodb.connection import Connection
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.models import Model
    from pynamodb.transactions import TransactWrite

    class Probe(Model):
        class Meta:
            table_name = f"contract-probe-{uuid.uuid4().hex[:8]}"
            region = "us-east-1"

        pk = UnicodeAttribute(hash_key=True)
        note = UnicodeAttribute(null=True)

    Probe.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    try:
        with pytest.raises(TransactWriteError) as raised, TransactWrite(connection=Connection("us-east-1")) as tx:
            tx.save(Probe(pk="a", note="first"))
            tx.save(Probe(pk="b", note="second"))
            tx.condition_check(Probe, "missing", condition=Probe.pk.exists())
        codes = [reason.code if reason else None for reason in raised.value.cancellation_reasons]
        assert sorted(codes, key=str) == ["ConditionalCheckFailed", None, None]  # PynamoDB sends checks first
        assert list(Probe.batch_get(["a", "b"])) == []
    finally:
        Probe.delete_table()


def test_on_disk_dynamodb_local_keeps_data_across_restarts(tmp_path: Path) -> None:
    def table(ddb: DynamoDBLocal) -> Any:
        resource = boto3.session.Session().resource(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=ddb.endpoint,
            aws_access_key_id="another",
            aws_secret_access_key="key",  # -sharedDb: keys don't partition data
        )
        return resource.Table("restart-probe")

    with DynamoDBLocal(0, tmp_path / "db") as first:
        first_table = table(first)
        first_table.meta.client.create_table(
            TableName="restart-probe",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        first_table.put_item(Item={"pk": "kept", "value": "yes"})
    with DynamoDBLocal(0, tmp_path / "db") as second:
        assert table(second).get_item(Key={"pk": "kept"})["Item"]["value"] == "yes"


# --- KMS -----------------------------------------------------------------------------------------------------------


def test_kms_key_survives_a_moto_reset(local_stack: Any, tmp_path: Path) -> None:
    from moto.kms.models import kms_backends

    region = "eu-west-3"  # its own backend: resetting it leaves the session stack's key alone
    store = tmp_path / "kms" / "keys.json"
    key_id = ensure_key(store, region=region)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    kms = _client("kms", region)
    blob = kms.encrypt(KeyId="alias/gatehouse-local", Plaintext=b"secret", EncryptionContext={"t": "1"})
    ciphertext = blob["CiphertextBlob"]

    kms_backends[ACCOUNT_ID][region].reset()
    with pytest.raises(ClientError):
        kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"t": "1"})

    assert ensure_key(store, region=region) == key_id
    assert kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"t": "1"})["Plaintext"] == b"secret"
    assert kms.describe_key(KeyId="alias/gatehouse-local")["KeyMetadata"]["KeyId"] == key_id


def test_kms_key_is_restored_in_a_new_process(tmp_path: Path) -> None:
    store = tmp_path / "keys.json"
    script = """
import base64, sys
from infra.local.kms_store import ACCOUNT_ID, ensure_key
from moto.kms.models import kms_backends
key_id = ensure_key(__import__("pathlib").Path(sys.argv[1]), region="us-east-1")
backend = kms_backends[ACCOUNT_ID]["us-east-1"]
if sys.argv[2] == "encrypt":
    blob, _ = backend.encrypt("alias/gatehouse-local", b"survives", {})
    print(key_id, base64.b64encode(blob).decode())
else:
    print(key_id, backend.decrypt(base64.b64decode(sys.argv[3]), {})[0].decode())
"""

    def run(*args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script, str(store), *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.split()

    key_id, ciphertext = run("encrypt")
    assert run("decrypt", ciphertext) == [key_id, "survives"]


# --- Step Functions -> Lambda -> Chalice ---------------------------------------------------------------------------


def test_function_names_resolve_to_chalice_handlers() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-local-SendVerificationEmail:$LATEST"
    assert function_name_of(arn) == "SendVerificationEmail"
    assert function_name_of("SendVerificationEmail") == "SendVerificationEmail"
    assert function_name_of("gatehouse-local-Foo", {"gatehouse-local-Foo": None}) == "gatehouse-local-Foo"


def test_placeholders_become_local_lambda_arns_and_unknown_ones_fail() -> None:
    rendered = render_definition('{"Resource": "${SendCodeArn}"}', "us-east-1")
    assert json.loads(rendered)["Resource"] == "arn:aws:lambda:us-east-1:123456789012:function:SendCode"
    with pytest.raises(ValueError, match="TableName"):
        render_definition('{"Table": "${TableName}"}', "us-east-1")


def test_lambda_invoke_reaches_the_project_app(local_stack: Any) -> None:
    response = _client("lambda").invoke(FunctionName="gatehouse-local-NoSuchFunction", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"  # not moto's echo: app.py was asked and has no such function
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "FunctionNotFoundError"
    assert "NoSuchFunction" in error["errorMessage"]


@pytest.fixture
def probe_app(tmp_path: Path) -> Any:
    """A throwaway Chalice app with two lambda_functions, installed behind moto's Lambda for one test."""
    from chalice.app import Chalice

    app = Chalice(app_name="bridge-probe")
    app.calls = []  # type: ignore[attr-defined]

    class RiskTooHigh(Exception):
        pass

    @app.lambda_function(name="ScoreRisk")
    def score_risk(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"risk": event["n"] * 3, "fn": context.function_name}

    @app.lambda_function(name="Reject")
    def reject(event: dict[str, Any], context: Any) -> dict[str, Any]:
        app.calls.append(event)  # type: ignore[attr-defined]
        raise RiskTooHigh(f"risk {event['score']['risk']} is too high")

    install_lambda_bridge(lambda: app, project_dir=tmp_path)
    yield app
    install_lambda_bridge()


def test_step_functions_task_runs_the_chalice_handler(local_stack: Any, probe_app: Any, tmp_path: Path) -> None:
    definitions = tmp_path / "statemachines"
    definitions.mkdir()
    (definitions / "bridge_probe.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "Score",
                "States": {
                    "Score": {"Type": "Task", "Resource": "${ScoreRiskArn}", "ResultPath": "$.score", "Next": "Reject"},
                    "Reject": {
                        # a deployed-style function name must reach the same handler
                        "Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-local-Reject",
                        "Retry": [{"ErrorEquals": ["RiskTooHigh"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                        "Catch": [{"ErrorEquals": ["RiskTooHigh"], "ResultPath": "$.error", "Next": "Rejected"}],
                        "End": True,
                    },
                    "Rejected": {"Type": "Pass", "End": True},
                },
            }
        )
    )
    sfn = _client("stepfunctions")
    machines = register_state_machines(sfn, STATE_MACHINE_ROLE_ARN, definitions_dir=definitions)
    arn = machines["gatehouse-bridge-probe"]
    assert arn.startswith(os.environ["GATEHOUSE_STATE_MACHINE_ARN_PREFIX"])
    assert register_state_machines(sfn, STATE_MACHINE_ROLE_ARN, definitions_dir=definitions) == machines  # update

    execution = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps({"n": 3}))
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.1)

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["score"] == {"risk": 9, "fn": "ScoreRisk"}
    assert output["error"]["Error"] == "RiskTooHigh"
    assert "risk 9 is too high" in output["error"]["Cause"]
    assert len(probe_app.calls) == 2  # first try + one retry on our own error name


# --- Outbox --------------------------------------------------------------------------------------------------------


def test_outbox_sees_email_and_sms(local_stack: Any, outbox: Any) -> None:
    sender = os.environ.get("GATEHOUSE_EMAIL_SENDER", "no-reply@gatehouse.local")
    simple_to = f"simple-{uuid.uuid4().hex[:8]}@example.com"
    raw_to = f"raw-{uuid.uuid4().hex[:8]}@example.com"
    phone = "+15555550123"
    ses = _client("ses")
    ses.send_email(
        Source=sender,
        Destination={"ToAddresses": [simple_to]},
        Message={
            "Subject": {"Data": "Verify your email"},
            "Body": {
                "Text": {"Data": "Open http://127.0.0.1:8000/t/demo/verify?code=abc to verify."},
                "Html": {"Data": '<p>Open <a href="http://127.0.0.1:8000/t/demo/verify?code=abc&amp;x=1">this</a></p>'},
            },
        },
    )
    mime = MIMEMultipart("alternative")
    mime["Subject"], mime["From"], mime["To"] = "Your code", sender, raw_to
    mime.attach(MIMEText("Your code is 123456. https://example.com/help", "plain"))
    mime.attach(MIMEText("<p>Your code is <b>123456</b></p>", "html"))
    ses.send_raw_email(Source=sender, Destinations=[raw_to], RawMessage={"Data": mime.as_bytes()})
    _client("sns").publish(PhoneNumber=phone, Message="Gatehouse code 654321 https://127.0.0.1:8000/x")

    # Only this test's three messages, newest first (alerts of earlier tests may still arrive in between).
    newest = [entry for entry in outbox() if entry["to"] in ([phone], [raw_to], [simple_to])][:3]
    assert [entry["channel"] for entry in newest] == ["sms", "email", "email"]
    sms, raw, simple = newest
    assert sms["to"] == [phone] and "654321" in sms["text"] and sms["links"] == ["https://127.0.0.1:8000/x"]
    assert raw["to"] == [raw_to] and raw["subject"] == "Your code"
    assert raw["text"].strip() == "Your code is 123456. https://example.com/help"
    assert "<b>123456</b>" in raw["html"] and raw["links"] == ["https://example.com/help"]
    assert simple["to"] == [simple_to] and simple["subject"] == "Verify your email"
    assert simple["links"] == ["http://127.0.0.1:8000/t/demo/verify?code=abc&x=1"]
    assert "Open" in simple["text"] and "<" not in simple["text"]
    assert sms["sent_at"] >= raw["sent_at"] >= simple["sent_at"]
    assert sms["sent_at"].endswith("Z")


def test_outbox_module_imports_and_is_empty_without_moto() -> None:
    code = "import sys; from chalicelib.outbound.local_outbox import read_outbox; "
    code += "assert 'moto' not in sys.modules; print(read_outbox())"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- Stack plumbing ------------------------------------------------------------------------------------------------


def test_state_file_names_only_a_live_stack(local_stack: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "stack.json"
    assert read_live_stack(state_file) is None
    info = StackInfo(os.getpid(), local_stack.dynamodb.port, local_stack.moto.port, local_stack.app_port)
    state_file.write_text(json.dumps(info.__dict__))
    assert read_live_stack(state_file) == info
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=False, capture_output=True, text=True
    )
    state_file.write_text(json.dumps(info.__dict__ | {"pid": int(dead.stdout)}))
    assert read_live_stack(state_file) is None


def test_live_server_serves_the_app_at_the_public_url(live_server: str) -> None:
    import urllib.error
    import urllib.request

    assert os.environ["GATEHOUSE_PUBLIC_URL"] == live_server
    try:
        with urllib.request.urlopen(f"{live_server}/no-such-page", timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status in (403, 404)  # Chalice's local gateway answered


def test_dynamodb_local_that_loses_its_free_port_takes_another(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The port was free when probed, then another process bound it before the JVM did: DynamoDB Local is started
    again on another free port instead of failing the stack (a race seen in CI), and says so below warning level:
    the CLI's stderr (Python's last-resort log handler) carries only its own one-line error (CONTRACT.md)."""
    import logging
    import socket

    from infra.local import emulators

    caplog.set_level(logging.INFO, logger="gatehouse.local")
    # Heard on the logger itself: once the app is imported, Chalice's "gatehouse" logger stops propagation to the root.
    monkeypatch.setattr(logging.getLogger("gatehouse.local"), "handlers", [caplog.handler])
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # bound, not listening: the JVM (every interface) cannot bind it and exits
    offered = [taken.getsockname()[1]]
    real_free_port = emulators.free_port
    monkeypatch.setattr(emulators, "free_port", lambda: offered.pop() if offered else real_free_port())
    try:
        with DynamoDBLocal() as dynamodb:
            assert dynamodb.port != taken.getsockname()[1]
            client = boto3.client(
                "dynamodb",
                endpoint_url=dynamodb.endpoint,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            assert client.list_tables()["TableNames"] == []
    finally:
        taken.close()
    retried = [r for r in caplog.records if "lost port" in r.getMessage()]
    assert retried and {r.levelno for r in retried} == {logging.INFO}  # (heard once or twice: root and logger)


def test_free_ports_are_never_handed_out_twice() -> None:
    from infra.local.emulators import free_port

    assert len({free_port() for _ in range(50)}) == 50
