"""Fixtures of the SAML end-to-end tests: a fresh tenant, the test IdP, and the operator CLI attached to the
test stack (the same DynamoDB Local and KMS the live server uses)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.saml_idp import SamlTestIdP

ROOT = Path(__file__).resolve().parents[3]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def tenant(live_server: str) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = unique("saml")
    container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(TenantId(slug))
    return slug


@pytest.fixture(scope="session")
def demo(live_server: str) -> dict[str, Any]:
    from tests.support.demo import seeded_demo

    return {**seeded_demo(live_server), "callback": f"{live_server}/_local/callback"}


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SamlTestIdP:
    return SamlTestIdP(tmp_path_factory.mktemp("saml-idp"))


@pytest.fixture(scope="session")
def gatehouse(local_stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., dict[str, Any]]:
    """``gatehouse("idp", "add-saml", ...)``: the real CLI in a subprocess, attached to the test stack."""
    from infra.local.stack import StackInfo

    local_dir = tmp_path_factory.mktemp("gatehouse-cli")
    info = StackInfo(os.getpid(), local_stack.dynamodb.port, local_stack.moto.port, local_stack.app_port)
    (local_dir / "stack.json").write_text(json.dumps(info.__dict__))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GATEHOUSE_", "MOTO_"))}
    env["GATEHOUSE_LOCAL_DIR"] = str(local_dir)

    def run(*args: str) -> dict[str, Any]:
        result = subprocess.run(
            [str(ROOT / "gatehouse"), *args], cwd="/", env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        value: dict[str, Any] = json.loads(result.stdout)
        return value

    return run
