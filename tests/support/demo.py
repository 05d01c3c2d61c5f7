"""The demo tenant seeded once per test process: seeding again would rotate ``demo-web``'s secret under the
fixtures that already hold it (every e2e package asks for the demo through here)."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def seeded_demo(live_server: str) -> dict[str, Any]:
    from infra.local.seed import seed_demo

    return seed_demo(live_server)
