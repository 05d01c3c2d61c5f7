"""Full password logins per CPU-second at three Argon2id settings, each in its own process with its own user.

A login is the browser flow through ``app(event, context)``: authorize GET (login page, sealed flow, CSRF cookie)
-> login POST (flow, csrf, gh_csrf cookie, email, password: Argon2 verify, session, code) -> token POST (code
exchange, client_secret_basic). Settings:
  * default  -- whatever the code uses with no GATEHOUSE_ARGON2_* set (read back from the hasher);
  * keycloak -- t=5, m=7 MiB, p=1 (Keycloak's; the target applies here);
  * owasp-1  -- t=2, m=19 MiB, p=1 (OWASP's first Argon2id profile).
Each child sets the parameters before its first hash, creates a fresh user (so the stored hash carries them),
warms up, then measures N logins and, separately, N bare Argon2 verifies of the same hash (the verify share).
All logins succeed, so the per-IP and per-account throttles never trigger.

Usage: .venv/bin/python benchmarks/password_logins.py [-n 100]   (GATEHOUSE_BENCH_QUICK=1: tiny counts)
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (
    REPO_ROOT,
    BenchStack,
    Driver,
    RequestCounter,
    describe_ops,
    dynamodb_ops,
    emit_result,
    inherited_info,
    load_app,
    measure,
    print_table,
    scaled,
    verdict,
)

TARGET_KEYCLOAK_PER_CPU_S = 45
ARGON2_ENV = ("GATEHOUSE_ARGON2_TIME_COST", "GATEHOUSE_ARGON2_MEMORY_KIB", "GATEHOUSE_ARGON2_PARALLELISM")
SETTINGS: dict[str, tuple[int, int, int] | None] = {  # name -> (t, m KiB, p); None = the code's defaults
    "default": None,
    "keycloak": (5, 7168, 1),
    "owasp-1": (2, 19456, 1),
}


def child(name: str, n: int) -> dict[str, Any]:
    """Runs in the subprocess: fresh user, warm-up, N timed logins with a per-step CPU split, N bare verifies."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.services import passwords

    info = inherited_info()
    tenant = TenantId(info["tenant"])
    email, password = f"bench-{name}-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
    container.accounts().create_user(
        tenant, email=email, password=password, verified=True, settings=container.tenants().effective(tenant)
    )
    login = container._credential_repository().get_password_login(tenant, email)
    stored_hash = login.password_hash if login else None
    if not stored_hash:
        raise RuntimeError("the new user has no password hash")
    hasher = passwords._hasher()

    counter = RequestCounter().install()
    driver = Driver(load_app(), info)
    for _ in range(3):  # imports, KMS decrypt of both signing keys, templates, caches
        driver.password_login(email, password)

    steps = {"authorize GET": 0.0, "login POST": 0.0, "token POST": 0.0}

    def one_login(_i: int) -> None:
        started = time.process_time()
        fields, cookies = driver.authorize()
        after_authorize = time.process_time()
        code = driver.login(fields, cookies, email, password)
        after_login = time.process_time()
        driver.exchange(code)
        steps["authorize GET"] += after_authorize - started
        steps["login POST"] += after_login - after_authorize
        steps["token POST"] += time.process_time() - after_login

    logins = measure(counter, n, one_login)
    verifies = measure(counter, n, lambda _i: passwords.verify_password(stored_hash, password))
    counter.uninstall()
    return {
        "name": name,
        "hash_parameters": stored_hash.split("$")[3],
        "hasher": f"t={hasher.time_cost}, m={hasher.memory_cost} KiB, p={hasher.parallelism}",
        "n": n,
        "logins_per_cpu_s": logins.per_cpu_second,
        "cpu_ms_per_login": logins.cpu_ms_each,
        "wall_ms_per_login": logins.wall_ms_each,
        "verify_cpu_ms": verifies.cpu_ms_each,
        "steps_cpu_ms": {k: 1000 * v / n for k, v in steps.items()},
        "dynamodb_per_login": logins.dynamodb_per_iteration(),
        "dynamodb_ops": describe_ops(dynamodb_ops(logins.calls), logins.total_iterations),
    }


def run_setting(stack: BenchStack, name: str, n: int) -> dict[str, Any]:
    params = SETTINGS[name]
    env = stack.child_environment()
    for variable in ARGON2_ENV:
        env.pop(variable, None)
    if params is not None:
        env.update({variable: str(value) for variable, value in zip(ARGON2_ENV, params, strict=True)})
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", name, "-n", str(n)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {name} failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=scaled(100, 2), help="logins per setting (default 100)")
    parser.add_argument("--child", choices=sorted(SETTINGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n)))
        return

    with BenchStack() as stack:
        results = [run_setting(stack, name, args.n) for name in SETTINGS]

    print(
        f"\n== password logins: authorize GET -> login POST -> token POST, {args.n} per setting, each setting in "
        "its own process with its own user =="
    )
    rows = []
    for r in results:
        share = r["verify_cpu_ms"] / r["cpu_ms_per_login"]
        target = f">= {TARGET_KEYCLOAK_PER_CPU_S}" if r["name"] == "keycloak" else "-"
        judged = verdict(r["logins_per_cpu_s"], TARGET_KEYCLOAK_PER_CPU_S) if r["name"] == "keycloak" else "-"
        rows.append(
            (
                r["name"],
                r["hash_parameters"],
                f"{r['logins_per_cpu_s']:.1f}",
                f"{r['cpu_ms_per_login']:.1f}",
                f"{r['wall_ms_per_login']:.1f}",
                f"{r['verify_cpu_ms']:.1f}",
                f"{100 * share:.0f}%",
                target,
                judged,
            )
        )
    print_table(
        rows, ("setting", "hash", "logins/CPU-s", "CPU ms", "wall ms", "verify ms", "verify share", "target", "verdict")
    )
    print("\nCPU per step (ms; the login POST includes the Argon2 verify):")
    print_table(
        [
            (
                r["name"],
                *(f"{v:.2f}" for v in r["steps_cpu_ms"].values()),
                f"{r['steps_cpu_ms']['login POST'] - r['verify_cpu_ms']:.2f}",
            )
            for r in results
        ],
        ("setting", *results[0]["steps_cpu_ms"], "login POST minus verify"),
    )
    default = results[0]
    print(
        f"\ndefault hasher: {default['hasher']}; DynamoDB per login: {default['dynamodb_per_login']:g} "
        f"({default['dynamodb_ops']})"
    )
    emit_result(
        "password_logins",
        {
            r["name"]: {
                "logins_per_cpu_s": round(r["logins_per_cpu_s"], 1),
                "verify_share": round(r["verify_cpu_ms"] / r["cpu_ms_per_login"], 3),
            }
            for r in results
        },
    )


if __name__ == "__main__":
    main()
