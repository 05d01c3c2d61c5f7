"""Where the CPU goes in a loop: a CPU-time sampling profiler (SIGPROF) for shares, and cProfile for call counts.

cProfile (with a CPU-time timer, so waits on DynamoDB Local are not counted) is exact about calls but inflates
Python-heavy code several times over; the sampler interrupts the process every few CPU milliseconds and records
the stack, which gives undistorted shares by package and by our own functions.
"""

from __future__ import annotations

import cProfile
import pstats
import signal
import time
from collections.abc import Callable
from types import FrameType

SITE = "site-packages/"
Frame = tuple[str, int, str]  # (filename, first line, function)
OURS = ("chalicelib", "app")


def owner(filename: str) -> str:
    """The package of a source file: ``chalicelib.storage``, ``botocore``, ``stdlib``, ``benchmarks``..."""
    path = filename.replace("\\", "/")
    if SITE in path:
        return path.split(SITE, 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/chalicelib/" in path:
        return "chalicelib." + path.split("/chalicelib/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.endswith("/app.py"):
        return "app"
    if "/benchmarks/" in path:
        return "benchmarks"
    if "/lib/python3" in path:  # stdlib: name the module (http, email, json, socket...)
        return "stdlib:" + path.split("/lib/python3", 1)[1].split("/", 2)[1].removesuffix(".py")
    return "stdlib:" + path.strip("<>").removeprefix("frozen ")


def short(frame: Frame) -> str:
    filename, line, function = frame
    path = filename.split(SITE, 1)[-1]
    for root in ("/chalicelib/", "/benchmarks/"):
        if root in path:
            path = root.strip("/") + "/" + path.split(root, 1)[1]
    return f"{path.rsplit('/lib/python3', 1)[-1]}:{line} {function}"


# What a DynamoDB call spends its CPU on: the deepest frame that matches wins (so json under the parser counts as
# parsing, and http.client under urllib3 as HTTP).
ANATOMY = (
    (("botocore/useragent.py",), "botocore: user-agent string (built per request)"),
    (("botocore/auth.py", "botocore/signers.py"), "botocore: SigV4 signing"),
    (("botocore/parsers.py",), "botocore: response parsing"),
    (("botocore/serialize.py", "botocore/validate.py"), "botocore: request serialization"),
    (("botocore/regions.py", "botocore/endpoint_provider.py"), "botocore: endpoint ruleset resolution"),
    (("botocore/httpsession.py", "urllib3/", "botocore/awsrequest.py"), "HTTP: urllib3, http.client, socket"),
    (("botocore/retries/", "botocore/retryhandler.py"), "botocore: retries bookkeeping"),
    (("botocore/",), "botocore: client, hooks, endpoint (rest)"),
    (("pynamodb/",), "PynamoDB: expressions, attribute (de)serialization, models"),
)


def anatomy(stack: tuple[Frame, ...]) -> str:
    for filename, _line, _function in reversed(stack):
        for patterns, label in ANATOMY:
            if any(p in filename for p in patterns):
                return label
    return "not a DynamoDB call"


def component(stack: tuple[Frame, ...]) -> str:
    """The library our code called into (outermost first): ``pynamodb``, ``jose``... or our own code.

    ``stack`` runs from the root to the sampled frame. Time outside the view (Chalice routing, the event
    translation, the benchmark driver) is named after the last non-stdlib package on the stack.
    """
    inside_ours, caller = False, "?"
    for filename, _line, _function in stack:
        package = owner(filename)
        if package.startswith(OURS):
            inside_ours = package.startswith("chalicelib")
            caller = package
            continue
        if inside_ours and not package.startswith("stdlib"):
            return package
        if not package.startswith("stdlib"):
            caller = package
    if inside_ours:
        return "chalicelib (own code + stdlib)"
    return f"{caller} (outside the view)"


class Sampler:
    """Collects the main thread's stack every ``interval`` CPU seconds of this process (ITIMER_PROF).

    Python runs the handler only between bytecodes, and expirations during a long C call (an Argon2 hash, a
    blocking syscall) collapse into one signal; so each sample is weighted by the CPU time since the previous one,
    which charges a long C call to the Python frame that made it.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.samples: dict[tuple[Frame, ...], float] = {}
        self.count = 0
        self._last = 0.0

    def _on_signal(self, _signum: int, frame: FrameType | None) -> None:
        now = time.process_time()
        weight, self._last = now - self._last, now
        stack: list[Frame] = []
        while frame is not None:
            code = frame.f_code
            stack.append((code.co_filename, code.co_firstlineno, code.co_name))
            frame = frame.f_back
        key = tuple(reversed(stack))
        self.samples[key] = self.samples.get(key, 0.0) + weight
        self.count += 1

    def run(self, cpu_budget: float, step: Callable[[int], object]) -> int:
        """Call ``step(i)`` until ``cpu_budget`` CPU seconds are used; returns the number of iterations."""
        previous = signal.signal(signal.SIGPROF, self._on_signal)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        iterations = 0
        start = self._last = time.process_time()
        try:
            while time.process_time() - start < cpu_budget:
                step(iterations)
                iterations += 1
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
            signal.signal(signal.SIGPROF, previous)
        return iterations

    def shares(self, key: Callable[[tuple[Frame, ...]], set[str] | str]) -> list[tuple[str, float]]:
        weights: dict[str, float] = {}
        for stack, weight in self.samples.items():
            keys = key(stack)
            for k in [keys] if isinstance(keys, str) else keys:
                weights[k] = weights.get(k, 0.0) + weight
        total = sum(self.samples.values()) or 1.0
        return sorted(((k, w / total) for k, w in weights.items()), key=lambda kv: kv[1], reverse=True)


def report_samples(title: str, sampler: Sampler, iterations: int, cpu_ms_each: float, limit: int = 10) -> None:
    """Print CPU shares: by component our code called, by package (self), by our functions (inclusive)."""
    interval_ms = 1000 * sum(sampler.samples.values()) / max(1, sampler.count)
    print(
        f"\n--- CPU profile: {title} ({sampler.count} samples, one per ~{interval_ms:.1f} CPU ms, over {iterations}"
        f" iterations; shares of {cpu_ms_each:.3f} CPU ms per iteration; a long C call can be over-charged by up to"
        " one interval) ---"
    )

    def show(heading: str, rows: list[tuple[str, float]]) -> None:
        print(heading)
        for name, share in rows[:limit]:
            print(f"  {100 * share:5.1f}%  {share * cpu_ms_each * 1000:7.0f} us  {name}")

    show("by component (the library our code called, including what it calls):", sampler.shares(component))
    dynamodb = [(label, share) for label, share in sampler.shares(anatomy) if label != "not a DynamoDB call"]
    if sum(share for _, share in dynamodb) > 0.1:
        show("DynamoDB calls (PynamoDB + botocore) by phase:", dynamodb)
    show("by package, self time:", sampler.shares(lambda s: owner(s[-1][0]) if s else "?"))
    show("our functions, inclusive:", sampler.shares(lambda s: {short(f) for f in s if owner(f[0]).startswith(OURS)}))
    show("hottest leaf functions:", sampler.shares(lambda s: short(s[-1]) if s else "?"))


def cprofile(iterations: int, step: Callable[[int], object]) -> pstats.Stats:
    """Run ``step(i)`` ``iterations`` times under cProfile with a CPU-time timer."""
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        for i in range(iterations):
            step(i)
    finally:
        profiler.disable()
    return pstats.Stats(profiler)


def report_calls(title: str, stats: pstats.Stats, iterations: int, limit: int = 12) -> None:
    """Our functions by cumulative time with calls per iteration, and the most-called functions anywhere."""
    rows = [
        ((filename, line, function), calls, cumtime)
        for (filename, line, function), (_pc, calls, _tt, cumtime, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    print(f"\n--- cProfile: {title} ({iterations} iterations; calls are exact, times inflated by profiling) ---")
    print("our functions by cumulative time:")
    ours = sorted((r for r in rows if owner(r[0][0]).startswith(OURS)), key=lambda r: r[2], reverse=True)
    for frame, calls, cumtime in ours[:limit]:
        print(f"  {1e6 * cumtime / iterations:8.0f} us/it  {calls / iterations:6.1f} calls/it  {short(frame)}")
    print("most-called functions:")
    for frame, calls, _cumtime in sorted(rows, key=lambda r: r[1], reverse=True)[:limit]:
        name = short(frame) if frame[0] != "~" else frame[2]
        print(f"  {calls / iterations:8.1f} calls/it  {name}")
