"""Risk engine: the signals of one sign-in or token refresh, their score, and the tier policy's decision.

Pure functions over plain values (no I/O): the caller supplies what it knows about the attempt (``Attempt``) and
the user's small sign-in history (``RiskProfile``); ``assess`` returns the fired signals, the score and the
decision (allow, mfa = ask for a second factor, block). The policy is the tier's ``risk`` settings section:
weights per signal, two score thresholds and an ordered list of rules (first match wins) such as
``{"when": ["ip_denied"], "decision": "block"}``; without a matching rule the score decides.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from chalicelib.core.ids import TenantId, UserId

Decision = Literal["allow", "mfa", "block"]
DECISIONS: tuple[Decision, ...] = ("allow", "mfa", "block")
SEVERITY = {"allow": 0, "mfa": 1, "block": 2}

SIGNALS = (
    "new_device",
    "new_country",
    "impossible_travel",
    "unusual_hour",
    "account_failures",
    "ip_failures",
    "ip_denied",
    "ip_allowed",
    "breached_credentials",
)

DEFAULT_WEIGHTS: dict[str, int] = {
    "new_device": 25,
    "new_country": 20,
    "impossible_travel": 70,
    "unusual_hour": 15,
    "account_failures": 25,
    "ip_failures": 20,
    "ip_denied": 100,
    "ip_allowed": 0,
    "breached_credentials": 30,
}

# The ``risk`` section of the tier settings (core/settings.py); every key documented here.
DEFAULT_POLICY: dict[str, Any] = {
    "enabled": True,
    "weights": {},  # signal -> 0..100, overriding DEFAULT_WEIGHTS per signal
    "mfa_score": 40,  # score from which a second factor is required
    "block_score": 150,  # score from which the attempt is refused
    # Ordered; the first rule whose signals all fired decides: {"when": [signal, ...], "decision": d}.
    "rules": [
        {"when": ["ip_denied"], "decision": "block"},
        {"when": ["ip_allowed"], "decision": "allow"},
    ],
    "ip_deny": [],  # CIDR networks (or single addresses), IPv4 or IPv6
    "ip_allow": [],
    "max_speed_kmh": 900,  # faster than an airliner between two sign-ins is impossible travel
    "min_travel_km": 300,  # closer than this is never impossible travel (geo-IP is coarse)
    "account_failures": 3,  # failed attempts on the account in the current window that count as a signal
    "ip_failures": 10,  # failed attempts from the IP in the current window
    "hour_min_history": 10,  # sign-ins needed before the time of day is judged
    "hour_min_share_percent": 5,  # this hour and its neighbours below this share of the history is unusual
    "notify_new_device": True,  # email the user about a sign-in from a device not seen before
    # Credential stuffing: failures from one IP over many accounts, or on one account from many IPs, in a window.
    "stuffing_accounts_per_ip": 10,
    "stuffing_ips_per_account": 5,
    "stuffing_window_seconds": 3600,
    "stuffing_block_seconds": 900,  # first block; each further block doubles, up to the maximum
    "stuffing_max_block_seconds": 86400,
}

MAX_DEVICES = 10
MAX_COUNTRIES = 10
MAX_NETWORKS = 200
MAX_RULES = 20
COUNTRY = re.compile(r"^[A-Z]{2}$")
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    country: str = ""


@dataclass(frozen=True)
class Attempt:
    """What is known about this sign-in or refresh. ``device`` is a digest of the device id ("" if none);
    ``account_failures``/``ip_failures`` are the failed attempts in the current throttle window."""

    now: int
    ip: str
    location: Location | None = None
    country: str = ""
    device: str = ""
    account_failures: int = 0
    ip_failures: int = 0
    breached_password: bool = False
    kind: Literal["signin", "refresh"] = "signin"


@dataclass(frozen=True)
class RiskProfile:
    """A user's sign-in history, kept small: recent devices, countries, the last located sign-in, an hour-of-day
    histogram (UTC) and the number of successful sign-ins."""

    devices: tuple[tuple[str, int], ...] = ()  # (device digest, last seen), most recent first
    countries: tuple[str, ...] = ()
    last_location: Location | None = None
    last_location_at: int = 0
    hours: tuple[int, ...] = (0,) * 24
    sign_ins: int = 0
    version: int = 0

    def knows_device(self, device: str) -> bool:
        return any(d == device for d, _ in self.devices)


@dataclass(frozen=True)
class Assessment:
    score: int
    signals: tuple[str, ...]
    decision: Decision
    rule: int | None = None  # index of the deciding rule, None when the score decided
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. distance and speed behind impossible travel


# --- policy --------------------------------------------------------------------------------------------------


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text.strip(), strict=False)


def validate_policy(section: Mapping[str, Any]) -> None:
    """Check a (partial) ``risk`` settings section; raises ValueError with a readable message."""
    weights = section.get("weights", {})
    for name, weight in weights.items():
        if name not in SIGNALS:
            raise ValueError(f"setting 'risk.weights' names unknown signal '{name}'")
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise ValueError(f"setting 'risk.weights.{name}' must be an integer from 0 to 100")
    rules = section.get("rules", [])
    if len(rules) > MAX_RULES:
        raise ValueError(f"setting 'risk.rules' allows at most {MAX_RULES} rules")
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or set(rule) != {"when", "decision"}:
            raise ValueError(f'setting \'risk.rules[{index}]\' must be {{"when": [...], "decision": ...}}')
        when = rule["when"]
        if not isinstance(when, list) or not when or not all(isinstance(s, str) and s in SIGNALS for s in when):
            raise ValueError(f"setting 'risk.rules[{index}].when' must list known signals")
        if rule["decision"] not in DECISIONS:
            raise ValueError(f"setting 'risk.rules[{index}].decision' must be allow, mfa or block")
    for key in ("ip_deny", "ip_allow"):
        networks = section.get(key, [])
        if len(networks) > MAX_NETWORKS:
            raise ValueError(f"setting 'risk.{key}' allows at most {MAX_NETWORKS} networks")
        for text in networks:
            try:
                _network(str(text))
            except ValueError as error:
                raise ValueError(f"setting 'risk.{key}' has an invalid network '{str(text)[:64]}'") from error
    for key in ("mfa_score", "block_score"):
        if key in section and not 1 <= section[key] <= 1000:
            raise ValueError(f"setting 'risk.{key}' must be between 1 and 1000")
    for key, value in section.items():
        if key in ("mfa_score", "block_score", "weights", "rules", "ip_deny", "ip_allow", "enabled"):
            continue
        if key != "notify_new_device" and not 0 <= value <= 400 * 86400:
            raise ValueError(f"setting 'risk.{key}' is out of range")
    if "hour_min_share_percent" in section and not 0 <= section["hour_min_share_percent"] <= 100:
        raise ValueError("setting 'risk.hour_min_share_percent' must be between 0 and 100")


def _in_any(ip: str, networks: Sequence[str]) -> bool:
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for text in networks:
        try:
            if address in _network(str(text)):
                return True
        except (ValueError, TypeError):
            continue
    return False


# --- signals -------------------------------------------------------------------------------------------------


def distance_km(a: Location, b: Location) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi = phi2 - phi1
    dlambda = math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def travel(profile: RiskProfile, attempt: Attempt, policy: Mapping[str, Any]) -> dict[str, Any] | None:
    """Distance and speed from the last located sign-in when they are impossible, else None."""
    if attempt.location is None or profile.last_location is None:
        return None
    km = distance_km(profile.last_location, attempt.location)
    if km < int(policy["min_travel_km"]):
        return None
    hours = max(attempt.now - profile.last_location_at, 60) / 3600  # at least a minute: no division by zero
    speed = km / hours
    if speed <= int(policy["max_speed_kmh"]):
        return None
    return {"distance_km": round(km), "speed_kmh": round(speed), "from_country": profile.last_location.country}


def unusual_hour(profile: RiskProfile, attempt: Attempt, policy: Mapping[str, Any]) -> bool:
    total = sum(profile.hours)
    if total < int(policy["hour_min_history"]):
        return False
    hour = (attempt.now // 3600) % 24
    near = sum(profile.hours[(hour + offset) % 24] for offset in (-1, 0, 1))
    return near * 100 < int(policy["hour_min_share_percent"]) * total


def signals_of(profile: RiskProfile, attempt: Attempt, policy: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    fired: list[str] = []
    facts: dict[str, Any] = {}
    if _in_any(attempt.ip, policy["ip_deny"]):
        fired.append("ip_denied")
    if _in_any(attempt.ip, policy["ip_allow"]):
        fired.append("ip_allowed")
    seen_before = profile.sign_ins > 0
    if attempt.kind == "signin" and seen_before and attempt.device and not profile.knows_device(attempt.device):
        fired.append("new_device")
    if seen_before and attempt.country and profile.countries and attempt.country not in profile.countries:
        fired.append("new_country")
    moved = travel(profile, attempt, policy)
    if moved is not None:
        fired.append("impossible_travel")
        facts.update(moved)
    if attempt.kind == "signin" and unusual_hour(profile, attempt, policy):
        fired.append("unusual_hour")
    if attempt.account_failures >= int(policy["account_failures"]) > 0:
        fired.append("account_failures")
    if attempt.ip_failures >= int(policy["ip_failures"]) > 0:
        fired.append("ip_failures")
    if attempt.breached_password:
        fired.append("breached_credentials")
    if attempt.country:
        facts["country"] = attempt.country
    return fired, facts


# --- decision ------------------------------------------------------------------------------------------------


def assess(profile: RiskProfile, attempt: Attempt, policy: Mapping[str, Any]) -> Assessment:
    """The attempt's signals, score and the policy's decision."""
    if not policy.get("enabled", True):
        return Assessment(0, (), "allow")
    fired, facts = signals_of(profile, attempt, policy)
    weights = {**DEFAULT_WEIGHTS, **policy.get("weights", {})}
    score = sum(int(weights[s]) for s in fired)
    for index, rule in enumerate(policy.get("rules", [])):
        if set(rule["when"]) <= set(fired):
            return Assessment(score, tuple(fired), rule["decision"], index, facts)
    decision: Decision = "allow"
    if score >= int(policy["block_score"]):
        decision = "block"
    elif score >= int(policy["mfa_score"]):
        decision = "mfa"
    return Assessment(score, tuple(fired), decision, None, facts)


def remember(profile: RiskProfile, attempt: Attempt) -> RiskProfile:
    """The profile after a successful sign-in (or a refresh that moved): device, country, place, hour."""
    devices = profile.devices
    if attempt.device and attempt.kind == "signin":
        devices = ((attempt.device, attempt.now), *((d, t) for d, t in profile.devices if d != attempt.device))
    countries = profile.countries
    if attempt.country and COUNTRY.match(attempt.country) and attempt.country not in countries:
        countries = (attempt.country, *countries)
    hours = list(profile.hours)
    signed_in = attempt.kind == "signin"
    if signed_in:
        hours[(attempt.now // 3600) % 24] += 1
    return replace(
        profile,
        devices=devices[:MAX_DEVICES],
        countries=countries[:MAX_COUNTRIES],
        last_location=attempt.location or profile.last_location,
        last_location_at=attempt.now if attempt.location else profile.last_location_at,
        hours=tuple(hours),
        sign_ins=profile.sign_ins + (1 if signed_in else 0),
    )


def parse_location(latitude: str | None, longitude: str | None, country: str | None) -> tuple[Location | None, str]:
    """(location, country) from CloudFront viewer headers; malformed or out-of-range values are ignored."""
    code = (country or "").strip().upper()
    code = code if COUNTRY.match(code) else ""
    try:
        lat, lon = float(latitude or ""), float(longitude or "")
    except ValueError:
        return None, code
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None, code
    return Location(lat, lon, code), code


@dataclass(frozen=True)
class HistoryUpdate:
    """A user's sign-in history to store, written in the same transaction as the sign-in's session and code."""

    tenant_id: TenantId
    user_id: UserId
    profile: RiskProfile
    expires_at: int
