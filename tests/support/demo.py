"""The demo tenant seeded once per test process: seeding again would rotate ``demo-web``'s secret under the
fixtures that already hold it (every e2e package asks for the demo through here)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest


@functools.cache
def seeded_demo(live_server: str) -> dict[str, Any]:
    from infra.local.seed import seed_demo

    return seed_demo(live_server)


@pytest.fixture
def alice_as_seeded(live_server: str) -> Iterator[None]:
    """Put the demo user back as seeded after the test (no factor, no sign-in history): the whole session shares
    her. Use with ``@pytest.mark.usefixtures("alice_as_seeded")``."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    info = seeded_demo(live_server)
    yield
    tenant_id = TenantId("demo")
    alice = container.accounts().find_by_email(tenant_id, info["user_email"])
    for enrollment in container.mfa().enrollments(tenant_id, alice, active_only=False):
        container._mfa_repository().remove_enrollment(tenant_id, alice.user_id, enrollment)
    container.risk().forget(tenant_id, alice.user_id)


def totp(secret: str, clock: Any) -> str:
    """The TOTP code for ``secret`` (base32, spaces allowed as the enrollment page groups it) at the server clock's
    current time."""
    import pyotp

    return str(pyotp.TOTP(secret.replace(" ", "")).at(clock.now()))


def demo_web_tokens(demo: dict[str, Any], page: Any) -> dict[str, Any]:
    """The tokens for the code on the stand-in relying party's page (``/_local/callback``, open in the playwright
    ``page``), exchanged by ``demo-web``."""
    import requests

    cells = page.locator("#callback-params td[data-name]")
    received = {cells.nth(i).get_attribute("data-name") or "": cells.nth(i).inner_text() for i in range(cells.count())}
    response = requests.post(
        f"{demo['issuer']}/token",
        data={"grant_type": "authorization_code", "code": received["code"], "redirect_uri": demo["web_redirect_uri"]},
        auth=(demo["web_client_id"], demo["web_client_secret"]),
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
