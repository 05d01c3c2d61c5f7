"""The risk engine: each signal, scoring, the declarative policy (rules and thresholds) and profile updates."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.risk import (
    DEFAULT_POLICY,
    Attempt,
    Location,
    RiskProfile,
    assess,
    distance_km,
    parse_location,
    remember,
    validate_policy,
)
from chalicelib.core.settings import effective_settings, validate_settings

BERLIN = Location(52.52, 13.405, "DE")
POTSDAM = Location(52.39, 13.06, "DE")
SYDNEY = Location(-33.87, 151.21, "AU")
NOON = 1_700_000_000 - 1_700_000_000 % 86400 + 12 * 3600
HOUR = 3600


def policy(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULT_POLICY, **overrides}


def known(**overrides: Any) -> RiskProfile:
    """A user who signed in 20 times at noon from Berlin on device d1."""
    hours = [0] * 24
    hours[12] = 20
    base = RiskProfile(
        devices=(("d1", NOON - HOUR),),
        countries=("DE",),
        last_location=BERLIN,
        last_location_at=NOON - HOUR,
        hours=tuple(hours),
        sign_ins=20,
    )
    return RiskProfile(**{**base.__dict__, **overrides})


def attempt(**overrides: Any) -> Attempt:
    values: dict[str, Any] = {"now": NOON, "ip": "198.51.100.7", "location": BERLIN, "country": "DE", "device": "d1"}
    return Attempt(**{**values, **overrides})


def test_a_familiar_sign_in_fires_nothing_and_is_allowed() -> None:
    result = assess(known(), attempt(), policy())
    assert (result.signals, result.score, result.decision) == ((), 0, "allow")


def test_new_device_fires_only_for_a_user_with_history() -> None:
    assert assess(known(), attempt(device="d2"), policy()).signals == ("new_device",)
    assert assess(RiskProfile(), attempt(device="d2"), policy()).signals == ()
    assert "new_device" not in assess(known(), attempt(device=""), policy()).signals


def test_impossible_travel_fires_for_a_far_place_an_hour_later_with_its_facts() -> None:
    result = assess(known(), attempt(location=SYDNEY, country="AU"), policy())
    assert set(result.signals) == {"impossible_travel", "new_country"}
    assert result.facts["distance_km"] > 15000
    assert result.facts["speed_kmh"] > 15000
    assert result.facts["from_country"] == "DE"
    assert result.decision == "mfa"


def test_travel_that_is_near_or_slow_enough_is_not_impossible() -> None:
    assert "impossible_travel" not in assess(known(), attempt(location=POTSDAM), policy()).signals
    two_days_later = attempt(now=NOON + 2 * 86400, location=SYDNEY, country="AU")
    assert "impossible_travel" not in assess(known(), two_days_later, policy()).signals
    assert "impossible_travel" not in assess(known(), attempt(location=None), policy()).signals


def test_unusual_hour_relative_to_the_users_own_history() -> None:
    assert assess(known(), attempt(now=NOON + 13 * HOUR), policy()).signals == ("unusual_hour",)
    assert assess(known(), attempt(now=NOON + HOUR), policy()).signals == ()  # a neighbouring hour is usual
    few = [0] * 24
    few[12] = 3
    assert assess(known(hours=tuple(few)), attempt(now=NOON + 13 * HOUR), policy()).signals == ()


def test_failed_attempt_velocity_per_account_and_per_ip() -> None:
    assert assess(known(), attempt(account_failures=3), policy()).signals == ("account_failures",)
    assert assess(known(), attempt(account_failures=2), policy()).signals == ()
    assert assess(known(), attempt(ip_failures=10), policy()).signals == ("ip_failures",)


def test_deny_list_blocks_by_rule_and_allow_list_allows_by_rule() -> None:
    denied = assess(known(), attempt(ip="203.0.113.9"), policy(ip_deny=["203.0.113.0/24"]))
    assert (denied.signals, denied.decision, denied.rule) == (("ip_denied",), "block", 0)
    risky = attempt(ip="10.1.2.3", location=SYDNEY, country="AU", breached_password=True)
    allowed = assess(known(), risky, policy(ip_allow=["10.0.0.0/8"]))
    assert "ip_allowed" in allowed.signals and allowed.decision == "allow"
    v6 = assess(known(), attempt(ip="2001:db8::1"), policy(ip_deny=["2001:db8::/32"]))
    assert v6.decision == "block"


def test_breached_password_is_a_signal() -> None:
    assert assess(known(), attempt(breached_password=True), policy()).signals == ("breached_credentials",)


def test_score_thresholds_decide_without_a_matching_rule() -> None:
    assert assess(known(), attempt(device="d2"), policy()).decision == "allow"  # 25 < 40
    assert assess(known(), attempt(device="d2", breached_password=True), policy()).decision == "mfa"  # 55
    assert assess(known(), attempt(breached_password=True), policy()).decision == "allow"  # 30
    travelled = attempt(location=SYDNEY, country="AU", device="d2")  # 70 + 20 + 25
    assert assess(known(), travelled, policy()).decision == "mfa"
    worst = attempt(location=SYDNEY, country="AU", device="d2", breached_password=True, account_failures=3)  # + 55
    assert assess(known(), worst, policy()).decision == "block"
    assert assess(known(), attempt(device="d2"), policy(weights={"new_device": 50})).decision == "mfa"


def test_rules_are_declarative_and_the_first_match_wins() -> None:
    rules = [{"when": ["new_device", "new_country"], "decision": "block"}, {"when": ["new_device"], "decision": "mfa"}]
    assert assess(known(), attempt(device="d2"), policy(rules=rules)).decision == "mfa"
    both = attempt(device="d2", country="FR", location=None)
    assert assess(known(), both, policy(rules=rules)).decision == "block"


def test_a_disabled_policy_allows_everything() -> None:
    assert assess(known(), attempt(ip="203.0.113.9"), policy(enabled=False, ip_deny=["203.0.113.9"])).decision == (
        "allow"
    )


def test_refresh_attempts_ignore_device_and_hour() -> None:
    result = assess(known(), attempt(kind="refresh", device="other", now=NOON + 13 * HOUR), policy())
    assert result.signals == ()


def test_remember_keeps_the_profile_small_and_current() -> None:
    profile = RiskProfile()
    for index in range(15):
        profile = remember(profile, attempt(device=f"d{index}", now=NOON + index))
    assert len(profile.devices) == 10 and profile.devices[0][0] == "d14"
    assert profile.sign_ins == 15 and profile.hours[12] == 15
    assert profile.last_location == BERLIN and profile.countries == ("DE",)
    moved = remember(profile, attempt(location=SYDNEY, country="AU", now=NOON + 99, kind="refresh"))
    assert moved.sign_ins == 15 and moved.last_location == SYDNEY and moved.countries == ("AU", "DE")


def test_distance_is_the_great_circle() -> None:
    assert 15900 < distance_km(BERLIN, SYDNEY) < 16200
    assert distance_km(BERLIN, BERLIN) == 0


@pytest.mark.parametrize(
    ("lat", "lon", "country", "expected"),
    [
        ("52.52", "13.405", "de", (Location(52.52, 13.405, "DE"), "DE")),
        ("91", "0", "DE", (None, "DE")),
        ("nan", "0", "DE", (None, "DE")),
        ("x", "", "Germany", (None, "")),
        (None, None, None, (None, "")),
    ],
)
def test_viewer_headers_are_validated(lat: str, lon: str, country: str, expected: object) -> None:
    assert parse_location(lat, lon, country) == expected


@pytest.mark.parametrize(
    "section",
    [
        {"weights": {"telepathy": 10}},
        {"weights": {"new_device": 101}},
        {"rules": [{"when": ["new_device"], "decision": "maybe"}]},
        {"rules": [{"when": [], "decision": "block"}]},
        {"rules": [{"if": ["new_device"], "then": "block"}]},
        {"ip_deny": ["not-a-network"]},
        {"mfa_score": 0},
        {"hour_min_share_percent": 101},
    ],
)
def test_invalid_policies_are_refused(section: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        validate_policy(section)
    with pytest.raises(ValueError):
        validate_settings({"risk": section})


def test_the_policy_is_inherited_like_other_settings() -> None:
    root = validate_settings({"risk": {"ip_deny": ["203.0.113.0/24"], "mfa_score": 30}})
    org = validate_settings({"risk": {"mfa_score": 60}})
    effective = effective_settings([("root", root), ("org", org)])
    assert effective.get("risk", "ip_deny") == ["203.0.113.0/24"]
    assert effective.get("risk", "mfa_score") == 60
    assert effective.sources["risk.mfa_score"] == "org"
    assert effective.sources["risk.ip_deny"] == "root"
