"""Per-IP request limits for the unauthenticated self-service endpoints (register, resend, forgot password).

Each call counts one request for ``(tenant, action, source IP)`` in a fixed window; past the limit the source is
blocked with a doubling duration. Generous enough for offices behind one NAT, tight enough that nobody can use
us to flood mailboxes or enumerate at scale.
"""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.errors import RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import ThrottleRepository

WINDOW_SECONDS = 900
REQUESTS_PER_WINDOW = 100  # allowed per window; the next one is refused
BLOCK_SECONDS = 300
MAX_BLOCK_SECONDS = 3600
ACTIONS = frozenset({"register", "resend", "forgot", "email_change", "mfa_enroll", "phone_change", "passkey_signin"})


class RequestLimiter:
    def __init__(self, throttles: ThrottleRepository) -> None:
        self._throttles = throttles

    def count(self, tenant_id: TenantId, action: str, ip: str) -> None:
        """Count one request; raises RateLimited while the source is blocked."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action}")
        now = clock.now()
        state = self._throttles.record_failure(
            tenant_id,
            f"{action.upper()}#IP#{ip or 'unknown'}",
            now=now,
            window=WINDOW_SECONDS,
            threshold=REQUESTS_PER_WINDOW + 1,  # the request that reaches the threshold is blocked
            base_block=BLOCK_SECONDS,
            max_block=MAX_BLOCK_SECONDS,
        )
        if state["blocked_until"] > now:
            raise RateLimited(retry_after=state["blocked_until"] - now, detail=f"{action} limit for {ip}")
