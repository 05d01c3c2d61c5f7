"""In-memory fakes of storage ports, with the same semantics as the DynamoDB repositories (for unit tests)."""

from __future__ import annotations

from chalicelib.core.ids import TenantId


class MemoryThrottles:
    """ThrottleRepository in memory: fixed window, block with a doubling duration past the threshold."""

    def __init__(self) -> None:
        self.throttles: dict[tuple[str, str], dict[str, int]] = {}

    def state(self, tenant_id: TenantId, subject: str) -> dict[str, int] | None:
        return self.throttles.get((tenant_id, subject))

    def record_failure(
        self,
        tenant_id: TenantId,
        subject: str,
        *,
        now: int,
        window: int,
        threshold: int,
        base_block: int,
        max_block: int,
    ) -> dict[str, int]:
        state = self.throttles.setdefault(
            (tenant_id, subject), {"failures": 0, "window_start": now, "blocked_until": 0, "block_count": 0}
        )
        if state["window_start"] < now - window:
            state.update(failures=0, window_start=now)
        state["failures"] += 1
        if state["failures"] >= threshold:
            state["blocked_until"] = now + min(max_block, base_block * 2 ** state["block_count"])
            state["block_count"] += 1
            state["failures"] = 0
            state["window_start"] = now
        return dict(state)

    def reset(self, tenant_id: TenantId, subject: str) -> None:
        if (tenant_id, subject) in self.throttles:
            self.throttles[(tenant_id, subject)]["failures"] = 0
