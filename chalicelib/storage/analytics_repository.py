"""Analytics counters: ``PK = T#<tenant>#STATS#<day>``, ``SK = C#<scope>#<metric>`` grown with atomic ADD, and
active-user markers ``SK = U#<scope>#<user>`` written once (condition: not there yet). Counters and markers
expire after 400 days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pynamodb.exceptions import PutError

from chalicelib.core import clock
from chalicelib.core.ids import TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, translate_errors
from chalicelib.storage.models import CounterItem

KEEP_SECONDS = 400 * 86400


def _expiry() -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now() + KEEP_SECONDS, tz=dt.UTC)


class DynamoAnalyticsRepository:
    @translate_errors
    def add(self, tenant_id: TenantId, day: str, increments: Sequence[tuple[str, str]]) -> None:
        pk = keys.analytics_day(tenant_id, day)
        for scope, metric in dict.fromkeys(increments):
            CounterItem(pk, f"C#{scope}#{metric}").update(
                actions=[
                    CounterItem.item_type.set(CounterItem),
                    CounterItem.value.add(1),
                    CounterItem.ttl.set(_expiry()),
                ]
            )

    @translate_errors
    def mark_active(self, tenant_id: TenantId, day: str, scopes: Sequence[str], user_id: str) -> bool:
        pk = keys.analytics_day(tenant_id, day)
        first = False
        for scope in scopes:
            try:
                CounterItem(pk, f"U#{scope}#{user_id}", ttl=_expiry()).save(condition=CounterItem.pk.does_not_exist())
            except PutError as error:
                if is_condition_failure(error):
                    continue
                raise
            first = True
            self.add(tenant_id, day, [(scope, "active_users")])
        return first

    @translate_errors
    def day(self, tenant_id: TenantId, day: str, scope: str) -> dict[str, int]:
        prefix = f"C#{scope}#"
        items = CounterItem.query(keys.analytics_day(tenant_id, day), CounterItem.sk.startswith(prefix))
        return {item.sk[len(prefix) :]: int(item.value or 0) for item in items}
