"""The operator CLI as an operator uses it: ``./gatehouse ...`` in fresh processes against an on-disk stack.

Every command starts (and stops) DynamoDB Local on the same data directory, so each step also proves that data
and the local KMS key survive a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Any:
    local_dir = tmp_path_factory.mktemp("gatehouse-local")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GATEHOUSE_", "MOTO_"))}
    env["GATEHOUSE_LOCAL_DIR"] = str(local_dir)

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(ROOT / "gatehouse"), *args], cwd="/", env=env, capture_output=True, text=True, timeout=180, check=False
        )
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def test_operator_creates_a_tenant_client_and_user_that_survive_restarts(cli: Any) -> None:
    tenant = _json(cli("tenant", "create", "clitest"))
    assert tenant["tenant"] == "clitest" and tenant["issuer"].endswith("/t/clitest")
    org = _json(cli("tenant", "create", "clitest-org", "--parent", "clitest", "--tier", "organization"))
    assert org["tier"] == "organization"
    client = _json(
        cli(
            "client",
            "create",
            "--tenant",
            "clitest",
            "--name",
            "Web",
            "--type",
            "confidential",
            "--redirect-uri",
            "https://app.example/cb",
            "--tier-node",
            "clitest-org",
        )
    )
    assert client["client_id"] and client["client_secret"]
    user = _json(
        cli(
            "user",
            "create",
            "--tenant",
            "clitest",
            "--email",
            "Op@Example.com",
            "--password",
            "a sturdy passphrase 42",
            "--verified",
        )
    )
    shown = _json(cli("user", "show", "--tenant", "clitest", "--email", "op@example.com"))
    assert shown["user_id"] == user["user_id"] and shown["status"] == "active"
    assert "password" not in json.dumps(shown).lower().replace("password_", "")
    role = cli("role", "assign", "--tenant", "clitest", "--email", "op@example.com", "--role", "tenant-admin")
    assert _json(role) == {
        "user_id": user["user_id"],
        "email": "op@example.com",
        "role": "tenant-admin",
        "tier_node": "clitest",
    }
    held = _json(cli("role", "list", "--tenant", "clitest", "--email", "op@example.com"))
    assert held["roles"] == [{"role": "tenant-admin", "tier_node": "clitest"}]
    wrong = cli(
        "role", "assign", "--tenant", "clitest", "--email", "op@example.com", "--role", "account-admin", ok=False
    )
    assert wrong.returncode == 1 and "tier" in wrong.stderr
    cli("role", "remove", "--tenant", "clitest", "--email", "op@example.com", "--role", "tenant-admin")
    assert _json(cli("role", "list", "--tenant", "clitest", "--email", "op@example.com"))["roles"] == []
    # The signing key was encrypted under the local KMS key in an earlier process: signing still works.
    token = _json(cli("token", "admin", "--tenant", "clitest"))
    assert token["token_type"] == "Bearer" and token["access_token"].count(".") == 2


def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(cli: Any) -> None:
    for args in (
        ("user", "show", "--tenant", "no-such-tenant", "--email", "x@example.com"),
        ("tenant", "create", "Bad Slug!"),
        ("client", "create", "--tenant", "clitest", "--name", "x", "--type", "public", "--redirect-uri", "ftp://x"),
        ("frobnicate",),
    ):
        result = cli(*args, ok=False)
        assert result.returncode != 0
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
