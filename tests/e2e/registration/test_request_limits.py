"""The per-IP limit on unauthenticated self-service requests is wired into the API (429 with Retry-After)."""

from __future__ import annotations

from chalicelib.services.request_limits import REQUESTS_PER_WINDOW
from tests.e2e.registration.conftest import Site, unique_email


def test_forgot_password_requests_from_one_ip_are_limited(site: Site) -> None:
    statuses = [
        site.api("password/forgot", {"email": unique_email("limit")}).status_code for _ in range(REQUESTS_PER_WINDOW)
    ]
    assert set(statuses) == {202}
    refused = site.api("password/forgot", {"email": unique_email("limit")})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    # Other actions and other tenants keep their own counters.
    assert site.api("verification/resend", {"email": unique_email("limit")}).status_code == 202
