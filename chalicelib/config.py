"""Process configuration, read once from the environment.

This is the only module that reads environment variables. Endpoints of AWS services are *not* configured
here: boto3 and PynamoDB read ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` themselves, so the same
code runs against the local emulators and against AWS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    main_table: str
    audit_table: str
    kms_key_id: str
    public_base_url: str
    email_sender: str
    client_cache_seconds: float
    tenant_cache_seconds: float
    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int
    # Step Functions: a machine's ARN is this prefix + its definition's stem with "_" -> "-".
    state_machine_arn_prefix: str = ""
    # Cloudflare Turnstile (tenants with registration.captcha = "turnstile").
    turnstile_site_key: str = ""
    turnstile_secret: str = ""
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    # SNS topic of security alerts (credential stuffing, account locks) for tenants to subscribe to.
    alerts_topic_arn: str = ""
    # The audit table's stream (DynamoDB Streams): the CDK stack wires the real one to the stream consumer.
    audit_stream_arn: str = "arn:aws:dynamodb:us-east-1:123456789012:table/gatehouse-audit/stream/local"
    # EventBridge bus (name or ARN) the security alerts go to as well as the SNS topic; "" publishes to SNS only.
    alerts_event_bus: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage == "local"


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("GATEHOUSE_STAGE", "local"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        main_table=env.get("GATEHOUSE_MAIN_TABLE", "gatehouse-main"),
        audit_table=env.get("GATEHOUSE_AUDIT_TABLE", "gatehouse-audit"),
        kms_key_id=env.get("GATEHOUSE_KMS_KEY_ID", "alias/gatehouse-local"),
        public_base_url=env.get("GATEHOUSE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
        email_sender=env.get("GATEHOUSE_EMAIL_SENDER", "no-reply@gatehouse.local"),
        client_cache_seconds=float(env.get("GATEHOUSE_CLIENT_CACHE_SECONDS", "30")),
        tenant_cache_seconds=float(env.get("GATEHOUSE_TENANT_CACHE_SECONDS", "30")),
        # OWASP's Argon2id profile m=7 MiB, t=5, p=1 (the parameters Keycloak uses).
        argon2_time_cost=int(env.get("GATEHOUSE_ARGON2_TIME_COST", "5")),
        argon2_memory_kib=int(env.get("GATEHOUSE_ARGON2_MEMORY_KIB", "7168")),
        argon2_parallelism=int(env.get("GATEHOUSE_ARGON2_PARALLELISM", "1")),
        state_machine_arn_prefix=env.get("GATEHOUSE_STATE_MACHINE_ARN_PREFIX", ""),
        turnstile_site_key=env.get("GATEHOUSE_TURNSTILE_SITE_KEY", ""),
        turnstile_secret=env.get("GATEHOUSE_TURNSTILE_SECRET", ""),
        turnstile_verify_url=env.get(
            "GATEHOUSE_TURNSTILE_VERIFY_URL", "https://challenges.cloudflare.com/turnstile/v0/siteverify"
        ),
        audit_stream_arn=env.get(
            "GATEHOUSE_AUDIT_STREAM_ARN", "arn:aws:dynamodb:us-east-1:123456789012:table/gatehouse-audit/stream/local"
        ),
        alerts_topic_arn=env.get(
            "GATEHOUSE_ALERTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:gatehouse-local-security-alerts"
        ),
        alerts_event_bus=env.get("GATEHOUSE_ALERTS_EVENT_BUS", "").strip(),
    )


AUDIT_LOG_FILE_ENV = "GATEHOUSE_AUDIT_LOG_FILE"


def audit_log_file() -> str:
    """Where audit event lines go: "" means stdout (Lambda ships it to CloudWatch Logs); the local stack names a
    file it tails instead. Read on every call, not cached: the local stack sets it after ``settings()`` may have
    been read."""
    return os.environ.get(AUDIT_LOG_FILE_ENV, "")
