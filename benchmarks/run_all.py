"""Run every benchmark (each in its own process, with its own local stack) and print a summary table.

Usage: .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--no-profile]
Each script's full output is streamed as it runs; the summary at the end compares the figures with the targets.
Exit status is non-zero only if a benchmark fails to run (figures never fail the run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cold_start, password_logins, token_grants
from benchmarks.harness import REPO_ROOT, print_table

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = ("cold_start", "token_grants", "password_logins", "dynamodb_floor", "audit_writes")
PREFIX = "BENCH-RESULT "


def run_script(name: str, quick: bool, extra: list[str]) -> dict[str, Any]:
    """Run ``benchmarks/<name>.py``, echo its output, and return its ``BENCH-RESULT`` values."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    if quick:
        env["GATEHOUSE_BENCH_QUICK"] = "1"
    print(f"\n######## {name} ########", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / f"{name}.py"), *extra],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = {}
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith(PREFIX):
            result = json.loads(line[len(PREFIX) :])
    if process.wait() != 0 or not result:
        raise SystemExit(f"benchmark {name} failed (exit {process.returncode})")
    print(f"######## {name}: {time.monotonic() - started:.0f} s ########", flush=True)
    return result


def check(value: float, target: float, higher_is_better: bool) -> str:
    return "ok" if (value >= target if higher_is_better else value <= target) else "MISSED"


def summary_rows(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, ok/MISSED/-) for every benchmark that ran."""
    rows: list[tuple[str, str, str, str]] = []
    if "cold_start" in results:
        r = results["cold_start"]
        rows += [
            ("cold start: import chalice+boto3 (a)", f"{r['baseline_ms']} ms", "-", "-"),
            ("cold start: import app + first request (b)", f"{r['first_request_ms']} ms", "-", "-"),
            (
                "cold start ratio (b)/(a), wall",
                f"{r['ratio']}x",
                f"<= {cold_start.TARGET_RATIO}x",
                check(r["ratio"], cold_start.TARGET_RATIO, False),
            ),
            (
                "cold start ratio (b)/(a), CPU",
                f"{r['cpu_ratio']}x",
                f"<= {cold_start.TARGET_RATIO}x",
                check(r["cpu_ratio"], cold_start.TARGET_RATIO, False),
            ),
            ("cold start without .pyc (c)", f"{r['no_pyc_ms']} ms", "-", "-"),
            (
                "peak RSS after 1,000 warm requests",
                f"{r['peak_rss_mb']} MB",
                f"< {cold_start.LAMBDA_MEMORY_MB} MB",
                check(r["peak_rss_mb"], cold_start.LAMBDA_MEMORY_MB, False),
            ),
        ]
    if "token_grants" in results:
        r = results["token_grants"]
        rows += [
            (
                "client credentials / CPU-s",
                f"{r['cc_per_cpu_s']:,}",
                f">= {token_grants.TARGET_CC_PER_CPU_S:,}",
                check(r["cc_per_cpu_s"], token_grants.TARGET_CC_PER_CPU_S, True),
            ),
            (
                "refresh (chained) / CPU-s",
                f"{r['refresh_per_cpu_s']:,}",
                f">= {token_grants.TARGET_REFRESH_PER_CPU_S:,}",
                check(r["refresh_per_cpu_s"], token_grants.TARGET_REFRESH_PER_CPU_S, True),
            ),
            ("userinfo / CPU-s", f"{r['userinfo_per_cpu_s']:,}", "-", "-"),
        ]
        for flow, target in token_grants.TARGET_REQUESTS.items():
            value = r["requests"][flow]
            rows.append((f"DynamoDB requests: {flow}", f"{value:g}", f"<= {target}", check(value, target, False)))
    if "password_logins" in results:
        r = results["password_logins"]
        for name in password_logins.SETTINGS:
            figures = r[name]
            is_target = name == "keycloak"
            rows.append(
                (
                    f"password logins / CPU-s, {name}",
                    f"{figures['logins_per_cpu_s']} (Argon2 {100 * figures['verify_share']:.0f}%)",
                    f">= {password_logins.TARGET_KEYCLOAK_PER_CPU_S}" if is_target else "-",
                    check(figures["logins_per_cpu_s"], password_logins.TARGET_KEYCLOAK_PER_CPU_S, True)
                    if is_target
                    else "-",
                )
            )
    if "dynamodb_floor" in results:
        for layer, micros in results["dynamodb_floor"]["cpu_us_per_getitem"].items():
            rows.append((f"GetItem CPU: {layer}", f"{micros} us", "-", "-"))
    for operation, micros in results.get("audit_writes", {}).get("cpu_us", {}).items():
        rows.append((f"audit write CPU: {operation}", f"{micros} us", "-", "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny iteration counts (GATEHOUSE_BENCH_QUICK=1)")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these benchmarks")
    parser.add_argument("--no-profile", action="store_true", help="skip the profiles in token_grants")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("GATEHOUSE_BENCH_QUICK") == "1"
    results = {}
    for name in args.only or SCRIPTS:
        extra = ["--no-profile"] if name == "token_grants" and args.no_profile else []
        results[name] = run_script(name, quick, extra)
    print("\n======== summary ========" + (" (QUICK MODE: tiny counts, the figures mean nothing)" if quick else ""))
    print_table(summary_rows(results), ("figure", "value", "target", "verdict"))


if __name__ == "__main__":
    main()
