"""The deployed Gatehouse stack: DynamoDB tables, a KMS key, the Chalice app and its Step Functions state machines.

``GatehouseStack`` builds, in order:

1. **Tables** from ``chalicelib.storage.schema.table_definitions()``, the single source of the key schema (the same
   PynamoDB models create the local tables). On-demand, PITR, deletion protection, AWS-managed SSE, TTL, streams
   (NEW_AND_OLD_IMAGES). CloudFormation names them; functions learn each name from the env var the schema names.
2. **A customer-managed KMS key** (rotation on, ``alias/gatehouse-<stage>``) for envelope encryption of signing keys
   and secrets, passed as ``GATEHOUSE_KMS_KEY_ID``.
3. **The Chalice app** through ``chalice.cdk.Chalice`` (runs ``chalice package`` in-process). All functions run as
   ONE role created here (``manage_iam_role: false``) whose policy is written statement by statement below, because
   Chalice's own options both fall short: ``autogen_policy: true`` scans the code and grants what it finds on
   ``Resource: "*"``, and ``autogen_policy: false`` needs a ``.chalice/policy-<stage>.json`` and makes one role per
   function (there is no ``DefaultRole`` then). Every function gets ``Runtime`` python3.12 and one shared log group.
4. **State machines** (STANDARD, logged, traced), one per ``infra/statemachines/*.asl.json`` (the files the local
   bootstrap registers): ``${NameArn}`` becomes the ARN of the Chalice ``lambda_function`` ``Name`` through
   ``DefinitionSubstitutions``; each machine's role may invoke only the functions its definition names.

The Chalice stage is the stack's construct id (``chalice.cdk`` takes it from the scope), so the stack id *is* the
stage and ``.chalice/config.json``'s stage section applies; the CloudFormation stack is named ``gatehouse-<stage>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from chalice.cdk import Chalice
from chalice.config import Config
from chalice.deploy.packager import PipRunner
from constructs import Construct

from chalicelib.core.audit_lines import FILTER_PATTERN as AUDIT_LOG_FILTER_PATTERN
from chalicelib.storage.schema import table_definitions

REPO_ROOT = Path(__file__).resolve().parents[2]
STATEMACHINES_DIR = REPO_ROOT / "infra" / "statemachines"
LAMBDA_RUNTIME = "python3.12"
DEFAULT_SENDER_DOMAIN = "example.com"
STATE_MACHINE_PREFIX_ENV = "GATEHOUSE_STATE_MACHINE_ARN_PREFIX"
# Item-level actions only (TransactWriteItems/TransactGetItems are authorized as these per item): no Scan, no
# table management, no DescribeTable (PynamoDB builds its table metadata from the model, not from DescribeTable).
TABLE_ITEM_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_FUNCTION_ARN_PLACEHOLDER = re.compile(r"([A-Za-z0-9]+)Arn")


class GatehouseStack(cdk.Stack):
    """Everything ``gatehouse-<stage>`` deploys; ``source_dir`` and ``statemachines_dir`` are swappable for tests."""

    def __init__(
        self,
        scope: Construct,
        *,
        stage: str = "prod",
        sender_domain: str = DEFAULT_SENDER_DOMAIN,
        public_url: str | None = None,
        source_dir: Path = REPO_ROOT,
        statemachines_dir: Path = STATEMACHINES_DIR,
        xmlsec_layer_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, stage, stack_name=f"gatehouse-{stage}", **kwargs)
        self.stage = stage
        self.table_specs = table_definitions()
        self.tables = {spec["logical_id"]: self._add_table(spec) for spec in self.table_specs}
        self.key = kms.Key(
            self,
            "SecretsKey",
            alias=f"alias/gatehouse-{stage}",
            enable_key_rotation=True,
            description=f"Gatehouse {stage}: envelope encryption of signing keys and secrets",
        )
        self.function_role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Gatehouse {stage}: the role every Chalice function runs as",
        )
        self.alerts_topic = self._add_alerts_topic()
        self.alerts_bus = self._add_alerts_bus()
        self.function_logs = logs.LogGroup(
            self,
            "FunctionLogs",
            log_group_name=f"/aws/lambda/gatehouse-{stage}",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        env = self._function_environment(sender_domain, public_url)
        self.chalice = self._add_chalice(source_dir, env, xmlsec_layer_arn)
        self.functions = self._configure_functions()
        self._connect_audit_stream()
        self._connect_audit_log()
        self.state_machines = [self._add_state_machine(path) for path in sorted(statemachines_dir.glob("*.asl.json"))]
        self._grant_function_role(sender_domain)

    # -- 1. tables -----------------------------------------------------------------------------------------------
    def _add_table(self, spec: Mapping[str, Any]) -> dynamodb.Table:
        def attribute(name: str) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[spec["attribute_types"][name]])

        table = dynamodb.Table(
            self,
            spec["logical_id"],
            partition_key=attribute(spec["partition_key"]),
            sort_key=attribute(spec["sort_key"]) if spec["sort_key"] else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=spec["ttl_attribute"],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        for gsi in spec["gsis"]:
            table.add_global_secondary_index(
                index_name=gsi["name"],
                partition_key=attribute(gsi["partition_key"]),
                sort_key=attribute(gsi["sort_key"]) if gsi["sort_key"] else None,
                projection_type=dynamodb.ProjectionType.ALL,  # the models' GSIs use AllProjection
            )
        # A stable, readable logical id: renaming a construct must never replace a table.
        cast("dynamodb.CfnTable", table.node.default_child).override_logical_id(spec["logical_id"])
        return table

    # -- 2b. security alerts ---------------------------------------------------------------------------------------
    def _add_alerts_topic(self) -> sns.Topic:
        """The topic fraud alerts and account locks are published to (tenants subscribe with a filter policy on the
        ``tenant`` message attribute): encrypted with the stack's key, TLS-only (``enforce_ssl`` adds a topic
        policy denying any request without ``aws:SecureTransport``)."""
        return sns.Topic(
            self,
            "SecurityAlerts",
            topic_name=f"gatehouse-{self.stage}-security-alerts",
            display_name=f"Gatehouse {self.stage} security alerts",
            master_key=self.key,
            enforce_ssl=True,
        )

    def _add_alerts_bus(self) -> events.EventBus:
        """The EventBridge bus the same alerts go to as events (``source`` "gatehouse", ``detail.tenant``,
        ``detail.kind``): the operator adds a rule per tenant routing its alerts on (to the tenant's own bus, an API
        destination, a queue). Encrypted with the stack's key (CDK grants EventBridge its use for this bus only)."""
        return events.EventBus(
            self,
            "SecurityAlertsBus",
            event_bus_name=f"gatehouse-{self.stage}-security-alerts",
            description=f"Gatehouse {self.stage} security alerts, one event per alert",
            kms_key=self.key,
        )

    # -- 3. the Chalice app --------------------------------------------------------------------------------------
    def _function_environment(self, sender_domain: str, public_url: str | None) -> dict[str, str]:
        env = {spec["env"]: self.tables[spec["logical_id"]].table_name for spec in self.table_specs}
        env["GATEHOUSE_STAGE"] = self.stage
        env["GATEHOUSE_KMS_KEY_ID"] = self.key.key_arn
        env["GATEHOUSE_EMAIL_SENDER"] = f"no-reply@{sender_domain}"
        env["GATEHOUSE_ALERTS_TOPIC_ARN"] = self.alerts_topic.topic_arn
        env["GATEHOUSE_ALERTS_EVENT_BUS"] = self.alerts_bus.event_bus_name
        # A prefix, not the machines' ARNs, so that the functions do not depend on the machines that depend on
        # them; the app appends the definition's stem with "_" -> "-".
        env[STATE_MACHINE_PREFIX_ENV] = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=f"gatehouse-{self.stage}-",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        if public_url:
            env["GATEHOUSE_PUBLIC_URL"] = public_url
        else:
            cdk.Annotations.of(self).add_warning_v2(
                "gatehouse:public-url", "no public_url context: the app falls back to its local default issuer URL"
            )
        return env

    def _add_chalice(self, source_dir: Path, env: dict[str, str], xmlsec_layer_arn: str | None) -> Chalice:
        stage_config = {
            # Dependencies go to a layer cached on requirements.txt alone; the function zip is the app code only, so
            # a code change re-synthesizes without downloading wheels again.
            "automatic_layer": True,
            "autogen_policy": False,
            "manage_iam_role": False,
            "iam_role_arn": self.function_role.role_arn,
            "environment_variables": env,
        }
        if xmlsec_layer_arn:
            # The SAML SP runs the xmlsec1 binary, which the Lambda runtime lacks: a layer brings it to /opt/bin
            # (and its libraries to /opt/lib). See the README, "SAML 2.0 service provider".
            stage_config["layers"] = [xmlsec_layer_arn]
        else:
            cdk.Annotations.of(self).add_warning_v2(
                "gatehouse:xmlsec-layer", "no xmlsec_layer_arn context: SAML logins fail (the runtime has no xmlsec1)"
            )
        with _chalice_packaging(source_dir, LAMBDA_RUNTIME):
            return Chalice(self, "Gatehouse", source_dir=str(source_dir), stage_config=stage_config)

    def _configure_functions(self) -> dict[str, cdk.CfnResource]:
        functions = {
            child.node.id: child
            for child in self.chalice.sam_template.node.children
            if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == "AWS::Serverless::Function"
        }
        for function in functions.values():
            # Chalice derives the runtime from the local interpreter; _chalice_packaging already built the
            # package for LAMBDA_RUNTIME, this makes the template say so whatever the interpreter.
            function.add_property_override("Runtime", LAMBDA_RUNTIME)
            function.add_property_override("LoggingConfig.LogGroup", self.function_logs.log_group_name)
        return functions

    def _connect_audit_stream(self) -> None:
        """The Chalice ``on_dynamodb_record`` consumer reads the audit table's stream (its ARN is a deploy-time
        value: the app declares a placeholder, replaced here), with read rights on that stream only."""
        audit = self.tables["AuditTable"]
        stream_arn = cast("str", audit.table_stream_arn)
        consumer = self.functions.get("AuditStreamConsumer")
        if consumer is None:
            return
        consumer.add_property_override("Events.AuditStreamConsumerDynamodbEventSource.Properties.Stream", stream_arn)
        self.function_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                resources=[stream_arn],
            )
        )

    def _connect_audit_log(self) -> None:
        """The audit log channel: a subscription filter on the functions' log group hands the audit event lines
        (``{ $.gatehouse_audit = 1 }``) to ``IngestAuditLog``, which CloudWatch Logs alone may invoke for it."""
        if "IngestAuditLog" not in self.functions:
            return
        ingest_arn = self.chalice.get_function("IngestAuditLog").function_arn
        permission = lambda_.CfnPermission(
            self,
            "AuditLogIngestPermission",
            action="lambda:InvokeFunction",
            function_name=ingest_arn,
            principal="logs.amazonaws.com",
            source_account=self.account,
            source_arn=self.function_logs.log_group_arn,
        )
        subscription = logs.CfnSubscriptionFilter(
            self,
            "AuditLogSubscription",
            log_group_name=self.function_logs.log_group_name,
            filter_name="gatehouse-audit-log",
            filter_pattern=AUDIT_LOG_FILTER_PATTERN,
            destination_arn=ingest_arn,
        )
        subscription.add_dependency(permission)  # CloudWatch Logs test-invokes the function when subscribing

    # -- 4. state machines ---------------------------------------------------------------------------------------
    def _add_state_machine(self, path: Path) -> sfn.StateMachine:
        stem = path.name.removesuffix(".asl.json").replace("_", "-")
        name = f"gatehouse-{self.stage}-{stem}"
        text = path.read_text()
        json.loads(text)  # a malformed definition fails the synth, not the deployment
        arns = {placeholder: self._function_arn(path, placeholder) for placeholder in _PLACEHOLDER.findall(text)}
        log_group = logs.LogGroup(
            self,
            f"{stem}-logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        machine = sfn.StateMachine(
            self,
            f"{stem}-state-machine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(text),
            definition_substitutions=arns,
            # Executions carry ids only, but keep data out of the logs in case one ever carries more.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        # The L2 makes the machine depend on its role and on the role's policy. The RoleArn GetAtt already orders
        # the role (cfn-lint W3005); the policy must stay: Step Functions checks log delivery rights at creation.
        cfn_policy = machine.role.node.find_child("DefaultPolicy").node.default_child
        cast("sfn.CfnStateMachine", machine.node.default_child).add_override(
            "DependsOn", [self.get_logical_id(cast("iam.CfnPolicy", cfn_policy))]
        )
        if arns:
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=sorted({*arns.values(), *(f"{arn}:*" for arn in arns.values())}),
                )
            )
        return machine

    def _function_arn(self, path: Path, placeholder: str) -> str:
        match = _FUNCTION_ARN_PLACEHOLDER.fullmatch(placeholder)
        if match is None or match.group(1) not in self.functions:
            raise ValueError(
                f"{path.name}: placeholder ${{{placeholder}}} names no Chalice lambda_function "
                f"(expected ${{<Name>Arn}} with Name one of {sorted(self.functions)})"
            )
        return self.chalice.get_function(match.group(1)).function_arn

    # -- the function role's policy ------------------------------------------------------------------------------
    def _grant_function_role(self, sender_domain: str) -> None:
        table_arns = [
            arn
            for spec in self.table_specs
            for table in [self.tables[spec["logical_id"]]]
            for arn in [table.table_arn, *(f"{table.table_arn}/index/{gsi['name']}" for gsi in spec["gsis"])]
        ]
        statements = [
            iam.PolicyStatement(actions=TABLE_ITEM_ACTIONS, resources=table_arns),
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], resources=[self.key.key_arn]
            ),
            iam.PolicyStatement(
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.format_arn(service="ses", resource="identity", resource_name=sender_domain)],
            ),
            # SMS to a phone number has no ARN (AWS authorizes it on Resource "*"): allowed on everything that is
            # not an SNS ARN, so the grant reaches no topic, platform endpoint or application. The alerts topic is
            # the one SNS ARN the functions may publish to; nothing else on SNS is granted.
            iam.PolicyStatement(
                actions=["sns:Publish"],
                not_resources=[
                    self.format_arn(
                        service="sns", region="*", account="*", resource="*", arn_format=cdk.ArnFormat.NO_RESOURCE_NAME
                    )
                ],
            ),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.alerts_topic.topic_arn]),
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.alerts_bus.event_bus_arn]),
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.function_logs.log_group_arn]
            ),
        ]
        machine_arns = [machine.state_machine_arn for machine in self.state_machines]
        if machine_arns:
            statements.append(
                iam.PolicyStatement(
                    actions=[
                        "states:StartExecution",
                        "states:SendTaskSuccess",
                        "states:SendTaskFailure",
                        "states:SendTaskHeartbeat",
                    ],
                    resources=machine_arns,
                )
            )
        for statement in statements:
            self.function_role.add_to_policy(statement)


@contextlib.contextmanager
def _chalice_packaging(source_dir: Path, runtime: str) -> Iterator[None]:
    """Run ``chalice package`` in-process for ``runtime``, leaving the process as it found it.

    Chalice imports ``app`` from ``source_dir``, copies the stage's environment variables into ``os.environ``, writes
    ``./chalice.out`` and builds for the *local* interpreter. Around it: a fresh ``app`` module (a test may already
    hold another one), ``os.environ``/``sys.path``/``sys.modules['app']`` restored afterwards, a throw-away working
    directory (the assets are copied into the cloud assembly when the construct is built), and the build retargeted
    to ``runtime``: ``Config.lambda_python_version`` picks the ABI and the wheel cache key, and ``--python-version``
    makes chalice's manylinux downloads ask for that ABI (chalice omits it, so pip would only offer the local
    interpreter's wheels and a cp311 ``_cffi_backend`` would break argon2 on python3.12).
    """
    saved_environ, saved_path, saved_cwd = dict(os.environ), list(sys.path), os.getcwd()
    saved_app = sys.modules.pop("app", None)
    saved_version, saved_execute = Config.__dict__["lambda_python_version"], PipRunner._execute
    version = runtime.removeprefix("python")

    def execute(self: PipRunner, command: str, args: list[str], env_vars: Any = None, shim: Any = None) -> Any:
        if command == "download" and "--abi" in args:
            args = ["--python-version", version, *args]
        return saved_execute(self, command, args, env_vars, shim)

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice package refuses to run without a region
    sys.path.insert(0, str(source_dir))
    Config.lambda_python_version = property(lambda _config: runtime)  # type: ignore[method-assign,assignment]
    PipRunner._execute = execute  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory(prefix="gatehouse-chalice-") as workdir:
            os.chdir(workdir)
            try:
                yield
            finally:
                os.chdir(saved_cwd)
    finally:
        Config.lambda_python_version = saved_version  # type: ignore[method-assign]
        PipRunner._execute = saved_execute  # type: ignore[method-assign]
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.path[:] = saved_path
        sys.modules.pop("app", None)
        if saved_app is not None:
            sys.modules["app"] = saved_app
