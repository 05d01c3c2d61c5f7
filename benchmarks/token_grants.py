"""Warm token-endpoint throughput and DynamoDB requests per flow, through ``app(event, context)``.

Measures, in this process (DynamoDB Local's JVM is another process, so emulator CPU is excluded):
  * client-credentials grants per CPU-second (client_secret_basic, 3 rounds of 3,000);
  * refresh grants per CPU-second (a chain: each uses the refresh token the previous one returned; 3 x 1,000);
  * userinfo per CPU-second, and DynamoDB requests per flow: client credentials, refresh, userinfo, login + code
    exchange (authorize GET -> login POST -> token POST);
  * CPU profiles of each flow: a CPU-time sampler for shares, cProfile for call counts (``--no-profile`` skips).

Usage: .venv/bin/python benchmarks/token_grants.py [--no-profile]   (GATEHOUSE_BENCH_QUICK=1: tiny counts)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (
    BenchStack,
    Driver,
    Measurement,
    RequestCounter,
    describe_ops,
    dynamodb_ops,
    emit_result,
    load_app,
    measure,
    print_table,
    scaled,
    verdict,
)

TARGET_CC_PER_CPU_S = 3500
TARGET_REFRESH_PER_CPU_S = 1100
TARGET_REQUESTS = {"client credentials": 1, "refresh": 2, "userinfo": 1, "login + code exchange": 5}


class RefreshChain:
    """Each call presents the refresh token returned by the previous call (rotation, as a real client does)."""

    def __init__(self, driver: Driver, refresh_token: str) -> None:
        self.driver = driver
        self.token = refresh_token

    def __call__(self, _i: int) -> None:
        self.token = self.driver.refresh(self.token)["refresh_token"]


def warm_up(driver: Driver) -> dict[str, Any]:
    """Touch every code path once (imports, KMS decrypt of both signing keys, caches); returns a login's tokens."""
    driver.discovery()
    driver.jwks()
    for _ in range(20):
        driver.client_credentials()
    tokens = driver.password_login(driver.info["user_email"], driver.info["user_password"])
    chain = RefreshChain(driver, tokens["refresh_token"])
    for i in range(20):
        chain(i)
        driver.userinfo(tokens["access_token"])
    return driver.password_login(driver.info["user_email"], driver.info["user_password"])


def profile_flows(driver: Driver, info: dict[str, Any], measured: dict[str, Measurement]) -> None:
    """CPU-sample each flow for a few CPU seconds (shares), then cProfile it (exact call counts)."""
    from benchmarks.profiling import Sampler, cprofile, report_calls, report_samples

    def login(_i: int = 0) -> dict[str, Any]:
        return driver.password_login(info["user_email"], info["user_password"])

    def flows() -> dict[str, tuple[Callable[[int], object], int]]:
        """name -> (one iteration, how many iterations to cProfile)."""
        access_token = login()["access_token"]
        return {
            "client credentials": (lambda _i: driver.client_credentials(), scaled(300, 3)),
            "refresh (chained)": (RefreshChain(driver, login()["refresh_token"]), scaled(300, 3)),
            "userinfo": (lambda _i: driver.userinfo(access_token), scaled(300, 3)),
            "login + code exchange": (login, scaled(20, 1)),
        }

    for name, (step, _n) in flows().items():
        sampler = Sampler()
        iterations = sampler.run(scaled(4.0, 0.05), step)
        report_samples(name, sampler, iterations, measured[name].cpu_ms_each)
    for name, (step, n) in flows().items():
        report_calls(name, cprofile(n, step), n)


def run(profile_loops: bool) -> dict[str, Any]:
    with BenchStack() as stack:
        info = stack.info
        counter = RequestCounter().install()
        driver = Driver(load_app(), info)
        tokens = warm_up(driver)

        rounds = scaled(3, 1)
        cc = measure(counter, scaled(3000, 20), lambda _i: driver.client_credentials(), rounds)
        refresh = measure(counter, scaled(1000, 10), RefreshChain(driver, tokens["refresh_token"]), rounds)
        access_token = driver.password_login(info["user_email"], info["user_password"])["access_token"]
        userinfo = measure(counter, scaled(500, 5), lambda _i: driver.userinfo(access_token), rounds)
        login = measure(
            counter, scaled(30, 2), lambda _i: driver.password_login(info["user_email"], info["user_password"])
        )
        flows: dict[str, Measurement] = {
            "client credentials": cc,
            "refresh": refresh,
            "userinfo": userinfo,
            "login + code exchange": login,
        }
        targets = {"client credentials": TARGET_CC_PER_CPU_S, "refresh": TARGET_REFRESH_PER_CPU_S}

        print(
            f"\n== warm throughput: CPU of this process (DynamoDB Local runs in its own JVM), median of {rounds} rounds"
            " ==",
        )
        rows = []
        for name in ("client credentials", "refresh", "userinfo"):
            m, target = flows[name], targets.get(name)
            rows.append(
                (
                    name + (" (chained)" if name == "refresh" else ""),
                    f"{m.iterations} x {len(m.rounds)}",
                    f"{m.per_cpu_second:,.0f}",
                    m.spread,
                    f"{m.cpu_ms_each:.3f}",
                    f"{m.wall_ms_each:.3f}",
                    f">= {target:,}" if target else "-",
                    verdict(m.per_cpu_second, target) if target else "-",
                )
            )
        print_table(rows, ("flow", "n", "per CPU-s", "rounds", "CPU ms each", "wall ms each", "target", "verdict"))
        print("\n== DynamoDB requests per flow ==")
        request_rows = []
        for name, m in flows.items():
            per = m.dynamodb_per_iteration()
            target = TARGET_REQUESTS[name]
            request_rows.append(
                (
                    name,
                    f"{per:g}",
                    f"<= {target}",
                    verdict(per, target, higher_is_better=False),
                    describe_ops(dynamodb_ops(m.calls), m.total_iterations),
                )
            )
        print_table(request_rows, ("flow", "requests", "target", "verdict", "by operation (per flow)"))
        print(
            f"(login + code exchange: {login.iterations} logins, {login.cpu_ms_each:.1f} CPU ms each, "
            "Argon2 verify included; see password_logins.py)"
        )

        if profile_loops:
            profile_flows(driver, info, {**flows, "refresh (chained)": refresh})
        counter.uninstall()

    result = {
        "cc_per_cpu_s": round(cc.per_cpu_second),
        "refresh_per_cpu_s": round(refresh.per_cpu_second),
        "userinfo_per_cpu_s": round(userinfo.per_cpu_second),
        "requests": {name: m.dynamodb_per_iteration() for name, m in flows.items()},
    }
    emit_result("token_grants", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile of the cc and refresh loops")
    args = parser.parse_args()
    run(profile_loops=not args.no_profile)


if __name__ == "__main__":
    main()
