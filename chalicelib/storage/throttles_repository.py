"""Failure counters for brute-force throttling (per source IP and per email digest)."""

from __future__ import annotations

import datetime as dt

from chalicelib.core.ids import TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import translate_errors, updated_if
from chalicelib.storage.models import ThrottleItem

SK = "THROTTLE"


def _state(item: ThrottleItem) -> dict[str, int]:
    return {
        "failures": int(item.failures or 0),
        "window_start": int(item.window_start or 0),
        "blocked_until": int(item.blocked_until or 0),
        "block_count": int(item.block_count or 0),
    }


class DynamoThrottleRepository:
    @translate_errors
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
        item = ThrottleItem(keys.throttle(tenant_id, subject), SK)
        expires = dt.datetime.fromtimestamp(now + max(window, max_block) * 4, tz=dt.UTC)
        # Count inside the current window (atomic ADD; the condition keeps a stale window from counting).
        counted = updated_if(
            item,
            [ThrottleItem.failures.add(1), ThrottleItem.ttl.set(expires)],
            ThrottleItem.window_start >= now - window,
        )
        if not counted:
            item.update(
                actions=[
                    ThrottleItem.item_type.set(ThrottleItem),
                    ThrottleItem.failures.set(1),
                    ThrottleItem.window_start.set(now),
                    ThrottleItem.ttl.set(expires),
                ]
            )
        state = _state(item)
        if state["failures"] >= threshold:
            block = min(max_block, base_block * 2 ** min(state["block_count"], 16))
            updated_if(
                item,
                [
                    ThrottleItem.blocked_until.set(now + block),
                    ThrottleItem.block_count.add(1),
                    ThrottleItem.failures.set(0),
                    ThrottleItem.window_start.set(now),
                ],
                ThrottleItem.failures >= threshold,
            )
            state = _state(item)
        return state

    @translate_errors
    def reset(self, tenant_id: TenantId, subject: str) -> None:
        ThrottleItem(keys.throttle(tenant_id, subject), SK).update(
            actions=[ThrottleItem.item_type.set(ThrottleItem), ThrottleItem.failures.set(0)]
        )
