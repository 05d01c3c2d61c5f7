"""The risk engine's state: each user's sign-in history, credential-stuffing counters and fraud blocks.

The history is one item in the user's partition (one read and one write per sign-in). Stuffing counters are
string sets grown with atomic ADD (one item per IP and per account per window, expiring by TTL), counted over the
current window and the one before. A fraud block
sets ``blocked_until`` on the same throttle item the password sign-in already reads, so enforcing it costs
nothing extra; its duration doubles with each block (``block_count``, counted atomically).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.risk import HistoryUpdate, Location, RiskProfile
from chalicelib.storage import keys
from chalicelib.storage.errors import translate_errors, updated_if
from chalicelib.storage.models import MainItem, RiskProfileItem, StuffingItem, ThrottleItem

THROTTLE_SK = "THROTTLE"
STUFFING_SK = "STUFFING"


def _when(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def _location(value: Any) -> Location | None:
    if not isinstance(value, dict):
        return None
    try:
        return Location(float(value["lat"]), float(value["lon"]), str(value.get("country", "")))
    except (KeyError, TypeError, ValueError):
        return None


def to_profile(item: RiskProfileItem) -> RiskProfile:
    hours = [int(h) for h in (item.hours or [])][:24]
    return RiskProfile(
        devices=tuple((str(d), int(t)) for d, t in (item.devices or [])),
        countries=tuple(str(c) for c in (item.countries or [])),
        last_location=_location(item.last_location),
        last_location_at=int(item.last_location_at or 0),
        hours=tuple(hours + [0] * (24 - len(hours))),
        sign_ins=int(item.sign_ins or 0),
    )


def risk_profile_key(tenant_id: TenantId, user_id: UserId) -> tuple[str, str]:
    return keys.user(tenant_id, user_id), keys.risk_profile_sk()


def risk_profile_item(
    tenant_id: TenantId, user_id: UserId, profile: RiskProfile, *, expires_at: int
) -> RiskProfileItem:
    """The history as an item (saved alone, or inside the sign-in's transaction: ``history_item``)."""
    place = profile.last_location
    return RiskProfileItem(
        *risk_profile_key(tenant_id, user_id),
        devices=[[d, t] for d, t in profile.devices],
        countries=list(profile.countries),
        last_location={"lat": place.latitude, "lon": place.longitude, "country": place.country} if place else None,
        last_location_at=profile.last_location_at,
        hours=list(profile.hours),
        sign_ins=profile.sign_ins,
        ttl=_when(expires_at),
    )


def history_item(update: HistoryUpdate) -> RiskProfileItem:
    return risk_profile_item(update.tenant_id, update.user_id, update.profile, expires_at=update.expires_at)


class DynamoRiskRepository:
    @translate_errors
    def get_profile(self, tenant_id: TenantId, user_id: UserId) -> RiskProfile:
        try:
            return to_profile(RiskProfileItem.get(keys.user(tenant_id, user_id), keys.risk_profile_sk()))
        except DoesNotExist:
            return RiskProfile()

    @translate_errors
    def save_profile(self, tenant_id: TenantId, user_id: UserId, profile: RiskProfile, *, expires_at: int) -> None:
        risk_profile_item(tenant_id, user_id, profile, expires_at=expires_at).save()

    @translate_errors
    def delete_profile(self, tenant_id: TenantId, user_id: UserId) -> None:
        RiskProfileItem(keys.user(tenant_id, user_id), keys.risk_profile_sk()).delete()

    @translate_errors
    def count_stuffing(
        self, tenant_id: TenantId, *, ip: str, account: str, window: int, expires_at: int
    ) -> tuple[int, int]:
        """Add the pair to this window; return (distinct accounts failing from the IP, distinct IPs failing on the
        account) in this window and the one before it, so a burst across a window boundary counts as one."""
        sides = (("IP", ip, account), ("ACCOUNT", account, ip))
        members: list[set[str]] = []
        for kind, subject, member in sides:
            item = StuffingItem(keys.stuffing_window(tenant_id, kind, subject, window), STUFFING_SK)
            item.update(
                actions=[
                    StuffingItem.item_type.set(StuffingItem),
                    StuffingItem.members.add({member}),
                    StuffingItem.ttl.set(_when(expires_at)),
                ]
            )
            members.append(set(item.members or ()))
        before = {
            keys.stuffing_window(tenant_id, kind, subject, window - 1): n for n, (kind, subject, _) in enumerate(sides)
        }
        for found in MainItem.batch_get([(pk, STUFFING_SK) for pk in before]):
            if isinstance(found, StuffingItem) and found.pk in before:
                members[before[found.pk]] |= set(found.members or ())
        return len(members[0]), len(members[1])

    @translate_errors
    def block(self, tenant_id: TenantId, subject: str, *, now: int, base: int, most: int) -> int | None:
        """Block a throttle subject unless it is blocked already; returns the new ``blocked_until`` or None."""
        item = ThrottleItem(keys.throttle(tenant_id, subject), THROTTLE_SK)
        blocked = updated_if(
            item,
            [
                ThrottleItem.item_type.set(ThrottleItem),
                ThrottleItem.block_count.add(1),
                ThrottleItem.blocked_until.set(now + base),
                ThrottleItem.ttl.set(_when(now + most * 8)),
            ],
            ThrottleItem.blocked_until.does_not_exist() | (ThrottleItem.blocked_until <= now),
        )
        if not blocked:
            return None
        count = int(item.block_count or 1)
        until = now + min(most, base * (1 << min(count - 1, 16)))
        if until != now + base:
            # Not applied when a concurrent block counted after us and set its own duration.
            updated_if(item, [ThrottleItem.blocked_until.set(until)], ThrottleItem.block_count == count)
        return until

    @translate_errors
    def set_block(self, tenant_id: TenantId, subject: str, *, until: int, expires_at: int) -> None:
        ThrottleItem(keys.throttle(tenant_id, subject), THROTTLE_SK).update(
            actions=[
                ThrottleItem.item_type.set(ThrottleItem),
                ThrottleItem.blocked_until.set(until),
                ThrottleItem.failures.set(0),
                ThrottleItem.ttl.set(_when(expires_at)),
            ]
        )
