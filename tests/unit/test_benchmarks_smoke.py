"""The benchmark scripts still run end to end (tiny iteration counts); no figure is checked, only that they work.

Each script starts its own in-memory local stack in a subprocess, so these tests need Java and DynamoDB Local
(``scripts/setup.sh``) but none of the pytest stack fixtures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "BENCH-RESULT "


def run_quick(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["GATEHOUSE_BENCH_QUICK"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):  # the script starts its own stack
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def result_of(output: str) -> dict[str, object]:
    lines = [line for line in output.splitlines() if line.startswith(PREFIX)]
    assert lines, f"no {PREFIX.strip()} line in:\n{output[-3000:]}"
    result: dict[str, object] = json.loads(lines[-1][len(PREFIX) :])
    return result


@pytest.mark.slow
@pytest.mark.parametrize("script", ["cold_start", "token_grants", "password_logins", "dynamodb_floor", "audit_writes"])
def test_benchmark_runs(script: str) -> None:
    done = run_quick(f"benchmarks/{script}.py")
    assert done.returncode == 0, done.stderr[-3000:]
    assert result_of(done.stdout)["name"] == script


def test_summary_table_covers_every_result() -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks import run_all

    results = {
        "cold_start": {
            "baseline_ms": 200,
            "first_request_ms": 290,
            "ratio": 1.45,
            "cpu_ratio": 1.4,
            "no_pyc_ms": 900,
            "peak_rss_mb": 120,
        },
        "token_grants": {
            "cc_per_cpu_s": 9000,
            "refresh_per_cpu_s": 500,
            "userinfo_per_cpu_s": 450,
            "requests": {"client credentials": 0, "refresh": 1, "userinfo": 1, "login + code exchange": 5},
        },
        "password_logins": {
            name: {"logins_per_cpu_s": 40.0, "verify_share": 0.6} for name in ("default", "keycloak", "owasp-1")
        },
        "dynamodb_floor": {"cpu_us_per_getitem": {"PynamoDB Model.get": 1200, "lean": 300}},
    }
    rows = run_all.summary_rows(results)
    verdicts = {figure: verdict for figure, _value, _target, verdict in rows}
    assert verdicts["refresh (chained) / CPU-s"] == "MISSED"
    assert verdicts["client credentials / CPU-s"] == "ok"
    assert verdicts["password logins / CPU-s, keycloak"] == "MISSED"
    assert verdicts["DynamoDB requests: login + code exchange"] == "ok"
    assert len(rows) == 6 + 3 + 4 + 3 + 2
