"""Synthesizes ``GatehouseStack`` once and checks the security-relevant properties of the template.

The stack is built around a tiny stand-in Chalice project (one route, one ``lambda_function`` named ``SendProbe``,
no requirements, so packaging needs no network) and a temporary ``probe_flow.asl.json``: tables, key, role and
state machine wiring do not depend on the app's code. ``scripts/check_infra.sh`` synthesizes and lints the real app.
Skip with ``-m "not infra"``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra


PROBE_APP = """
from chalice import Chalice

app = Chalice(app_name="gatehouse")


@app.route("/")
def index():
    return {}


@app.lambda_function(name="SendProbe")
def send_probe(event, context):
    return event


@app.lambda_function(name="IngestAuditLog")
def ingest_audit_log(event, context):
    return {}
"""
PROBE_DEFINITION = {
    "StartAt": "Probe",
    "States": {"Probe": {"Type": "Task", "Resource": "${SendProbeArn}", "End": True}},
}
# Actions AWS only authorizes on Resource "*": SMS publish (no ARN for a phone number), and the log-delivery and
# X-Ray actions the Step Functions L2 construct adds for logging and tracing.
STAR_RESOURCE_ACTIONS = {
    "sns:Publish",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}


XMLSEC_LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:xmlsec1:3"


def _stack_module() -> Any:
    """Imported lazily, so that ``-m "not infra"`` does not pay for importing aws_cdk (and jsii)."""
    pytest.importorskip("aws_cdk")
    return importlib.import_module("infra.stacks.gatehouse_stack")


def _probe_project(root: Path) -> Path:
    (root / ".chalice").mkdir(parents=True)
    (root / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "gatehouse", "stages": {"prod": {"api_gateway_stage": "api"}}})
    )
    (root / "app.py").write_text(PROBE_APP)
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("infra")
    machines = base / "statemachines"
    machines.mkdir()
    (machines / "probe_flow.asl.json").write_text(json.dumps(PROBE_DEFINITION))
    stacks = _stack_module()
    app = stacks.cdk.App(outdir=str(base / "cdk.out"))
    stack = stacks.GatehouseStack(
        app,
        stage="prod",
        source_dir=_probe_project(base / "probe"),
        statemachines_dir=machines,
        xmlsec_layer_arn=XMLSEC_LAYER,
    )
    assembly = app.synth()
    return dict(assembly.get_stack_by_name(stack.stack_name).template)


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, policy in _resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield name, statement
    for name, role in _resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _function_role_statements(template: dict[str, Any], service: str) -> list[dict[str, Any]]:
    """The statements of the functions' role that grant actions of ``service`` (e.g. "dynamodb")."""
    role = next(iter(_resources(template, "AWS::Serverless::Function").values()))["Properties"]["Role"]
    role_id = role["Fn::GetAtt"][0]
    policies = [
        p for p in _resources(template, "AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return [
        s
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if any(a.startswith(f"{service}:") for a in _as_list(s["Action"]))
    ]


def test_tables_follow_the_schema_and_are_protected(template: dict[str, Any]) -> None:
    from chalicelib.storage.schema import table_definitions

    tables = _resources(template, "AWS::DynamoDB::Table")
    specs = table_definitions()
    assert set(tables) == {spec["logical_id"] for spec in specs}
    for spec in specs:
        table = tables[spec["logical_id"]]
        props = table["Properties"]
        assert table["DeletionPolicy"] == "Retain"
        assert "TableName" not in props  # CloudFormation names it; the functions get it through spec["env"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec["ttl_attribute"], "Enabled": True}
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert props["KeySchema"][0] == {"AttributeName": spec["partition_key"], "KeyType": "HASH"}
        indexes = {gsi["IndexName"]: gsi for gsi in props.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {gsi["name"] for gsi in spec["gsis"]}
        for gsi in spec["gsis"]:
            assert indexes[gsi["name"]]["KeySchema"][0] == {"AttributeName": gsi["partition_key"], "KeyType": "HASH"}
    assert any(spec["gsis"] for spec in specs), "the main table's GSI1 is expected"


def test_functions_run_python312_or_newer_as_the_stack_role(template: dict[str, Any]) -> None:
    from chalicelib.storage.schema import table_definitions

    functions = _resources(template, "AWS::Serverless::Function")
    assert {"APIHandler", "SendProbe"} <= set(functions)
    for function in functions.values():
        props = function["Properties"]
        major, minor = map(int, re.fullmatch(r"python(\d+)\.(\d+)", props["Runtime"]).groups())  # type: ignore[union-attr]
        assert (major, minor) >= (3, 12)
        env = props["Environment"]["Variables"]
        assert env["GATEHOUSE_STAGE"] == "prod"
        for spec in table_definitions():
            assert env[spec["env"]] == {"Ref": spec["logical_id"]}
        assert "GATEHOUSE_KMS_KEY_ID" in env
        assert "stateMachine:gatehouse-prod-" in json.dumps(env["GATEHOUSE_STATE_MACHINE_ARN_PREFIX"])
        assert "Fn::GetAtt" in props["Role"]
        assert "LogGroup" in props["LoggingConfig"]


def test_iam_has_no_wildcard_actions_and_star_resources_only_where_required(template: dict[str, Any]) -> None:
    for policy, statement in _statements(template):
        actions = _as_list(statement.get("Action", []))
        assert not [a for a in actions if "*" in a], f"{policy}: wildcard action in {statement}"
        assert "NotAction" not in statement
        if "NotResource" in statement:  # only the SMS grant: every sns:Publish target that is not an SNS ARN
            assert statement["Effect"] == "Allow" and actions == ["sns:Publish"], f"{policy}: {statement}"
            assert json.dumps(statement["NotResource"]).count("arn:") == 1 and ":sns:*:*:*" in json.dumps(
                statement["NotResource"]
            )
        if statement["Effect"] == "Allow" and "*" in _as_list(statement.get("Resource", [])):
            assert set(actions) <= STAR_RESOURCE_ACTIONS, f"{policy}: Resource '*' for {actions}"


def test_dynamodb_access_is_scoped_to_the_tables_and_their_indexes(template: dict[str, Any]) -> None:
    tables = set(_resources(template, "AWS::DynamoDB::Table"))
    dynamo = _function_role_statements(template, "dynamodb")
    assert dynamo
    for statement in dynamo:
        for resource in _as_list(statement["Resource"]):
            text = json.dumps(resource)
            referenced = set(re.findall(r'"Fn::GetAtt": \["(\w+)", "Arn"\]', text))
            assert referenced and referenced <= tables, resource
            assert "*" not in text


def test_kms_key_rotates_and_only_it_is_granted(template: dict[str, Any]) -> None:
    keys = _resources(template, "AWS::KMS::Key")
    assert len(keys) == 1
    ((key_id, key),) = keys.items()
    assert key["Properties"]["EnableKeyRotation"] is True
    aliases = _resources(template, "AWS::KMS::Alias").values()
    assert [a["Properties"]["AliasName"] for a in aliases] == ["alias/gatehouse-prod"]
    assert _function_role_statements(template, "kms") == [
        {
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        }
    ]


def test_state_machine_is_wired_to_the_chalice_function(template: dict[str, Any]) -> None:
    machines = _resources(template, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    ((machine_id, machine),) = machines.items()
    props = machine["Properties"]
    assert props["StateMachineName"] == "gatehouse-prod-probe-flow"
    assert props["StateMachineType"] == "STANDARD"
    assert props["DefinitionSubstitutions"] == {"SendProbeArn": {"Fn::GetAtt": ["SendProbe", "Arn"]}}
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    # The machine's role may invoke SendProbe (and its versions) and no other function.
    machine_role = props["RoleArn"]["Fn::GetAtt"][0]
    invoke = [
        s
        for p in _resources(template, "AWS::IAM::Policy").values()
        if {"Ref": machine_role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in _as_list(s["Action"])
    ]
    assert len(invoke) == 1
    assert {json.dumps(r) for r in invoke[0]["Resource"]} == {
        json.dumps({"Fn::GetAtt": ["SendProbe", "Arn"]}),
        json.dumps({"Fn::Join": ["", [{"Fn::GetAtt": ["SendProbe", "Arn"]}, ":*"]]}),
    }
    # The functions may start and answer exactly this machine.
    states = _function_role_statements(template, "states")
    assert len(states) == 1
    assert set(states[0]["Action"]) == {
        "states:StartExecution",
        "states:SendTaskSuccess",
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
    }
    assert _as_list(states[0]["Resource"]) == [{"Ref": machine_id}]


def test_a_placeholder_naming_no_function_fails_the_synth(tmp_path: Path) -> None:
    machines = tmp_path / "statemachines"
    machines.mkdir()
    (machines / "broken.asl.json").write_text(json.dumps(PROBE_DEFINITION).replace("SendProbeArn", "MissingArn"))
    stacks = _stack_module()
    with pytest.raises(ValueError, match=r"\$\{MissingArn\} names no Chalice lambda_function"):
        stacks.GatehouseStack(
            stacks.cdk.App(outdir=str(tmp_path / "cdk.out")),
            source_dir=_probe_project(tmp_path / "probe"),
            statemachines_dir=machines,
        )


def test_synth_leaves_the_process_as_it_found_it(template: dict[str, Any]) -> None:
    # chalice package copies the stage's environment (CDK tokens) into os.environ and imports the probe's app.py
    assert not [key for key, value in os.environ.items() if "${Token[" in value]
    probe_app = sys.modules.get("app")
    assert probe_app is None or "SendProbe" not in getattr(getattr(probe_app, "app", None), "handler_map", {})


def test_every_function_gets_the_xmlsec1_layer_the_saml_sp_needs(template: dict[str, Any]) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    assert functions
    for function in functions.values():
        assert XMLSEC_LAYER in function["Properties"].get("Layers", [])


def test_security_alerts_topic_is_encrypted_tls_only_and_the_functions_publishing_target(
    template: dict[str, Any],
) -> None:
    topics = _resources(template, "AWS::SNS::Topic")
    assert len(topics) == 1
    ((topic_id, topic),) = topics.items()
    (key_id,) = _resources(template, "AWS::KMS::Key")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert topic["Properties"]["TopicName"] == "gatehouse-prod-security-alerts"
    policies = [p["Properties"] for p in _resources(template, "AWS::SNS::TopicPolicy").values()]
    assert len(policies) == 1 and policies[0]["Topics"] == [{"Ref": topic_id}]
    (tls,) = policies[0]["PolicyDocument"]["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == {"Ref": topic_id} and tls["Action"] == "sns:Publish"
    for function in _resources(template, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["GATEHOUSE_ALERTS_TOPIC_ARN"] == {"Ref": topic_id}


def test_the_functions_may_publish_to_the_alerts_topic_and_sms_and_nothing_else_on_sns(
    template: dict[str, Any],
) -> None:
    (topic_id,) = _resources(template, "AWS::SNS::Topic")
    statements = _function_role_statements(template, "sns")
    assert all(s["Effect"] == "Allow" and _as_list(s["Action"]) == ["sns:Publish"] for s in statements), statements
    targets = [s.get("Resource") for s in statements if "Resource" in s]
    assert targets == [{"Ref": topic_id}], "the only SNS ARN granted is the alerts topic"
    (sms,) = [s for s in statements if "NotResource" in s]
    pattern = json.dumps(sms["NotResource"])
    assert ":sns:*:*:*" in pattern, "SMS (no ARN) is allowed, every SNS ARN (topics, endpoints, apps) excluded"


def test_audit_log_lines_are_subscribed_to_the_ingest_function(template: dict[str, Any]) -> None:
    ((_, subscription),) = _resources(template, "AWS::Logs::SubscriptionFilter").items()
    props = subscription["Properties"]
    assert props["FilterPattern"] == "{ $.gatehouse_audit = 1 }"
    assert props["DestinationArn"] == {"Fn::GetAtt": ["IngestAuditLog", "Arn"]}
    groups = _resources(template, "AWS::Logs::LogGroup")
    assert props["LogGroupName"] == {"Ref": next(n for n, g in groups.items() if "gatehouse-prod" in json.dumps(g))}
    # Only CloudWatch Logs, for this log group of this account, may invoke the ingest function; and the permission
    # exists before the subscription (which CloudWatch Logs test-invokes).
    (permission_id,) = subscription["DependsOn"]
    permission = template["Resources"][permission_id]["Properties"]
    assert permission["Principal"] == "logs.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["IngestAuditLog", "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "Fn::GetAtt" in permission["SourceArn"]


def test_security_alerts_bus_is_encrypted_and_named_to_the_functions(template: dict[str, Any]) -> None:
    ((bus_id, bus),) = _resources(template, "AWS::Events::EventBus").items()
    (key_id,) = _resources(template, "AWS::KMS::Key")
    assert bus["Properties"]["Name"] == "gatehouse-prod-security-alerts"
    assert bus["Properties"]["KmsKeyIdentifier"] == {"Fn::GetAtt": [key_id, "Arn"]}
    for function in _resources(template, "AWS::Serverless::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["GATEHOUSE_ALERTS_EVENT_BUS"] == {"Ref": bus_id}
    # EventBridge may use the key for this bus only (the key policy's conditions name it).
    (key,) = _resources(template, "AWS::KMS::Key").values()
    [events_grant] = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    conditions = events_grant["Condition"]["StringEquals"]
    assert ":event-bus/gatehouse-prod-security-alerts" in json.dumps(conditions["aws:SourceArn"])
    assert "kms:EncryptionContext:aws:events:event-bus:arn" in conditions


def test_the_functions_may_put_events_on_the_alerts_bus_only(template: dict[str, Any]) -> None:
    (bus_id,) = _resources(template, "AWS::Events::EventBus")
    assert _function_role_statements(template, "events") == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": {"Fn::GetAtt": [bus_id, "Arn"]}}
    ]
