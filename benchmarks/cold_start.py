"""Cold start and memory, each in fresh child processes (median of several runs).

  (a) baseline: ``python -c "import chalice, boto3"`` (the floor any Chalice + AWS SDK Lambda pays);
  (b) import ``app`` and serve the first request (``GET /t/demo/.well-known/openid-configuration`` through
      ``app(event, context)``, which reads the tenant from DynamoDB Local) -- the ratio (b)/(a) has a target;
  (c) the same as (b) without any ``.pyc`` (a Lambda package shipped without compiled bytecode: /var/task is
      read-only, so every cold start would compile every module);
  the 10 slowest imports of ``app`` (``-X importtime``), and the peak RSS after 1,000 mixed warm requests.

The parent starts the local stack and seeds it; children attach through the environment.
Usage: .venv/bin/python benchmarks/cold_start.py   (GATEHOUSE_BENCH_QUICK=1: fewer runs and requests)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import REPO_ROOT, BenchStack, emit_result, print_table, scaled, tenant_event

TARGET_RATIO = 1.5
LAMBDA_MEMORY_MB = 256
EVENT_ENV = "GATEHOUSE_BENCH_EVENT"
BASELINE = "import chalice, boto3"
# Kept free of the benchmark harness so that the child imports only what Lambda would.
FIRST_REQUEST = """
import time
started = time.perf_counter()
import json, os, resource
from app import app
imported = time.perf_counter()
class Context:
    function_name = "gatehouse-bench"; memory_limit_in_mb = 256; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-bench"
    def get_remaining_time_in_millis(self): return 30000
event = json.loads(os.environ["GATEHOUSE_BENCH_EVENT"])
response = app(event, Context())
done = time.perf_counter()
app(event, Context())
print(json.dumps({"status": response["statusCode"], "import_ms": 1000 * (imported - started),
                  "request_ms": 1000 * (done - imported), "second_ms": 1000 * (time.perf_counter() - done)}))
"""
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def run_child(code: str, env: dict[str, str], *flags: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the child) for ``python [flags] -c code``."""
    before = os.times()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *flags, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, done


def median_runs(code: str, env: dict[str, str], runs: int) -> dict[str, float]:
    walls, cpus, details = [], [], []
    for _ in range(runs):
        wall, cpu, done = run_child(code, env)
        walls.append(wall)
        cpus.append(cpu)
        if code == FIRST_REQUEST:
            detail = json.loads(done.stdout.strip().splitlines()[-1])
            if detail["status"] != 200:
                raise RuntimeError(f"the first request answered {detail['status']}")
            details.append(detail)
    result = {"wall_ms": 1000 * statistics.median(walls), "cpu_ms": 1000 * statistics.median(cpus)}
    for key in ("import_ms", "request_ms", "second_ms"):
        if details:
            result[key] = statistics.median(d[key] for d in details)
    return result


@dataclass
class ImportProfile:
    """Median ``-X importtime`` figures of (b), ``import app`` plus the lazy imports of the first request, with
    what (a) ``import chalice, boto3`` also imports marked, since only the rest moves the ratio."""

    by_self: list[tuple[str, float, float, bool]]  # (module, self ms, cumulative ms, also in (a)), slowest first
    by_package: list[tuple[str, float, float]]  # (top-level package, self ms summed, of which not in (a))
    at_import_ms: float  # sum of self times up to and including ``app``
    in_first_request_ms: float  # sum of self times of modules first imported by the first request
    not_in_baseline_ms: float  # sum of self times of modules (a) does not import


def import_times(code: str, env: dict[str, str], runs: int) -> tuple[dict[str, float], dict[str, float], float]:
    """Median (self ms, cumulative ms) per module of ``python -X importtime -c code``, and the median self time
    summed over the modules imported after ``app`` (lazily, by the first request)."""
    selfs: dict[str, list[float]] = defaultdict(list)
    cumulative: dict[str, list[float]] = defaultdict(list)
    lazy_totals: list[float] = []
    for _ in range(runs):
        _, _, done = run_child(code, env, "-X", "importtime")
        lazy, app_seen = 0.0, False
        for self_us, cum_us, indent, name in IMPORT_LINE.findall(done.stderr):
            selfs[name].append(int(self_us) / 1000)
            cumulative[name].append(int(cum_us) / 1000)
            if app_seen:
                lazy += int(self_us) / 1000
            app_seen = app_seen or (name == "app" and indent == " ")
        lazy_totals.append(lazy)
    median = statistics.median
    return (
        {n: median(v) for n, v in selfs.items()},
        {n: median(v) for n, v in cumulative.items()},
        median(lazy_totals),
    )


def slowest_imports(env: dict[str, str], runs: int, limit: int = 10) -> ImportProfile:
    selfs, cumulative, lazy = import_times(FIRST_REQUEST, env, runs)
    baseline = set(import_times(BASELINE, env, runs)[0])
    packages: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for name, ms in selfs.items():
        totals = packages[name.split(".", 1)[0]]
        totals[0] += ms
        totals[1] += 0.0 if name in baseline else ms
    by_self = sorted(
        ((n, ms, cumulative[n], n in baseline) for n, ms in selfs.items()), key=lambda r: r[1], reverse=True
    )
    by_package = sorted(((p, t[0], t[1]) for p, t in packages.items()), key=lambda r: r[2], reverse=True)
    total = sum(selfs.values())
    return ImportProfile(
        by_self[:limit],
        by_package[:limit],
        total - lazy,
        lazy,
        sum(ms for n, ms in selfs.items() if n not in baseline),
    )


def memory_mb() -> tuple[float, float, float]:
    """(VmRSS, VmHWM, getrusage ru_maxrss) in MB. On Linux, ru_maxrss of a child started by fork/vfork + exec
    also holds the parent's high-water mark from before the exec, so VmHWM (this address space's own) is the
    peak to read."""
    import resource

    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    rss, hwm = (int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))
    return rss, hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_memory() -> None:
    """Child: RSS after the first request of each kind, then after 1,000 mixed warm requests (JSON on stdout)."""
    from benchmarks.harness import Driver, inherited_info, load_app

    info = inherited_info()
    steps: list[tuple[str, float]] = [("interpreter + harness", memory_mb()[0])]
    driver = Driver(load_app(), info)
    steps.append(("import app", memory_mb()[0]))
    first_calls: list[tuple[str, Callable[[], object]]] = [
        ("discovery (PynamoDB, botocore, DynamoDB client)", driver.discovery),
        ("jwks", driver.jwks),
        ("client credentials (KMS client, key decrypt, jose)", driver.client_credentials),
        (
            "password login + code exchange (Argon2, pages)",
            lambda: driver.password_login(info["user_email"], info["user_password"]),
        ),
    ]
    for label, call in first_calls:
        call()
        steps.append((label, memory_mb()[0]))
    target, requests, logins = scaled(1000, 40), 0, 0
    while requests < target:
        tokens = driver.password_login(info["user_email"], info["user_password"])  # 3 requests, one Argon2 verify
        logins += 1
        refresh = tokens["refresh_token"]
        for _ in range(3):
            refreshed = driver.refresh(refresh)
            refresh = refreshed["refresh_token"]
            driver.userinfo(refreshed["access_token"])
        for _ in range(5):
            driver.client_credentials()
        driver.discovery()
        driver.jwks()
        requests += 3 + 6 + 5 + 2
    rss, hwm, maxrss = memory_mb()
    steps.append((f"after {requests} mixed warm requests", rss))
    print(json.dumps({"requests": requests, "logins": logins, "hwm_mb": hwm, "ru_maxrss_mb": maxrss, "steps": steps}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child-warm-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_warm_memory:
        warm_memory()
        return

    runs = scaled(7, 2)
    with BenchStack() as stack, tempfile.TemporaryDirectory(prefix="gatehouse-nopyc-") as nopyc:
        event = tenant_event("GET", "demo", ".well-known/openid-configuration")
        env = stack.child_environment(**{EVENT_ENV: json.dumps(event)})
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # Warm the OS page cache and the .pyc files once, so runs compare imports, not disk reads.
        run_child(FIRST_REQUEST, env)
        run_child(BASELINE, env)
        baseline = median_runs(BASELINE, env, runs)
        first = median_runs(FIRST_REQUEST, env, runs)
        no_pyc_env = {**env, "PYTHONPYCACHEPREFIX": nopyc, "PYTHONDONTWRITEBYTECODE": "1"}
        no_pyc = median_runs(FIRST_REQUEST, no_pyc_env, max(1, runs // 2))
        imports = slowest_imports(env, scaled(3, 1))
        warm = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child-warm-memory"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if warm.returncode != 0:
            raise RuntimeError(f"warm-memory child failed: {warm.stderr[-2000:]}")
        memory: dict[str, Any] = json.loads(warm.stdout.strip().splitlines()[-1])

    ratio = first["wall_ms"] / baseline["wall_ms"]
    print(f"\n== cold start (fresh processes, median of {runs}; wall = spawn to exit, CPU = the child's user+sys) ==")
    print_table(
        [
            (
                "(a) python -c 'import chalice, boto3'",
                f"{baseline['wall_ms']:.0f}",
                f"{baseline['cpu_ms']:.0f}",
                "-",
                "-",
            ),
            (
                "(b) import app + first request (discovery)",
                f"{first['wall_ms']:.0f}",
                f"{first['cpu_ms']:.0f}",
                f"{first['import_ms']:.0f}",
                f"{first['request_ms']:.0f}",
            ),
            (
                "(c) as (b), no .pyc (compile at start)",
                f"{no_pyc['wall_ms']:.0f}",
                f"{no_pyc['cpu_ms']:.0f}",
                f"{no_pyc['import_ms']:.0f}",
                f"{no_pyc['request_ms']:.0f}",
            ),
        ],
        ("process", "wall ms", "CPU ms", "import app ms", "first request ms"),
    )
    print(
        f"(a warm second request in the same child: {first['second_ms']:.1f} ms; the first request's extra cost is "
        "lazy imports and creating the botocore client)"
    )
    cpu_ratio = first["cpu_ms"] / baseline["cpu_ms"]
    verdict = "meets target" if ratio <= TARGET_RATIO else "ABOVE target"
    print(
        f"ratio (b)/(a): {ratio:.2f}x wall (target <= {TARGET_RATIO}x: {verdict}); {cpu_ratio:.2f}x CPU "
        "(steadier on a shared machine)"
    )

    print("\n== slowest imports of (b): import app + first request (-X importtime, median) ==")
    print(
        f"module bodies executed: {imports.at_import_ms:.0f} ms at 'import app' + {imports.in_first_request_ms:.0f} ms"
        f" of lazy imports inside the first request; {imports.not_in_baseline_ms:.0f} ms of it in modules that (a)"
        " does not import (importtime itself adds overhead)"
    )
    print_table(
        [(n, f"{s:.1f}", f"{c:.1f}", "yes" if b else "no") for n, s, c, b in imports.by_self],
        ("module", "self ms", "cumulative ms", "also in (a)"),
    )
    print("\ntop-level packages by import time that (a) does not pay:")
    print_table(
        [(p, f"{ms:.1f}", f"{extra:.1f}") for p, ms, extra in imports.by_package],
        ("package", "self ms", "not in (a) ms"),
    )

    fits = "fits" if memory["hwm_mb"] < LAMBDA_MEMORY_MB else "DOES NOT fit"
    print(
        f"\n== memory: peak RSS (VmHWM) {memory['hwm_mb']:.0f} MB after {memory['requests']} mixed warm requests "
        f"({memory['logins']} password logins) =="
    )
    previous, rows = 0.0, []
    for label, rss in memory["steps"]:
        rows.append((label, f"{rss:.0f}", f"+{rss - previous:.0f}"))
        previous = rss
    print_table(rows, ("RSS after", "MB", "delta"))
    print(
        f"{fits} a {LAMBDA_MEMORY_MB} MB Lambda (the Lambda runtime adds ~10-20 MB). getrusage ru_maxrss says "
        f"{memory['ru_maxrss_mb']:.0f} MB, but on Linux that includes the spawning parent's pre-exec high-water mark."
    )
    emit_result(
        "cold_start",
        {
            "baseline_ms": round(baseline["wall_ms"]),
            "first_request_ms": round(first["wall_ms"]),
            "ratio": round(ratio, 2),
            "cpu_ratio": round(cpu_ratio, 2),
            "no_pyc_ms": round(no_pyc["wall_ms"]),
            "peak_rss_mb": round(memory["hwm_mb"]),
            "slowest_extra_packages": [p for p, _, _ in imports.by_package[:5]],
        },
    )


if __name__ == "__main__":
    main()
