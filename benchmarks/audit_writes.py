"""What a token-issue audit event costs on each path, and why the hot paths publish it on the log channel.

CPU of this process per operation against DynamoDB Local (interleaved rounds, median):
  * the code exchange's grant write: PutItem alone (before) vs TransactWriteItems of grant + event (now);
  * the refresh rotation: UpdateItem through the PynamoDB model (before), through the hot-path botocore client
    (now), and the rejected alternative: TransactWriteItems of the update + event, which cannot return the grant,
    plus the GetItem that would then be needed;
  * one event: a synchronous PutItem vs one line on the audit log channel.

Usage: .venv/bin/python benchmarks/audit_writes.py   (GATEHOUSE_BENCH_QUICK=1: tiny counts)
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import BenchStack, Measurement, RequestCounter, emit_result, measure, print_table, scaled


class Chain:
    """A grant rotated again and again (each step presents the digest the previous step set)."""

    def __init__(self, repo: Any, grant: Any) -> None:
        self.repo, self.grant = repo, grant
        self.digest, self.generation = grant.current_digest, 0

    def next_digest(self) -> tuple[str, str, int]:
        import secrets

        presented, new = self.digest, secrets.token_urlsafe(32)
        self.digest, self.generation = new, self.generation + 1
        return presented, new, self.generation - 1


def operations() -> dict[str, Callable[[int], object]]:
    from chalicelib import container
    from chalicelib.core import clock
    from chalicelib.core.entities import Grant
    from chalicelib.core.ids import ClientId, NodeId, TenantId, UserId, new_id
    from chalicelib.outbound.audit_log import LogLineAuditChannel
    from chalicelib.storage import keys
    from chalicelib.storage.audit_repository import audit_item_for
    from chalicelib.storage.connection import transaction
    from chalicelib.storage.grant_rotation import CONDITION, GRANT_SK, NAMES_BY_SLOT, UPDATE, rotate_grant
    from chalicelib.storage.grants_repository import DynamoGrantRepository, grant_item
    from chalicelib.storage.models import ROTATION_HISTORY, AuditItem, GrantItem, MainItem

    tenant = TenantId("demo")
    repo = DynamoGrantRepository()
    channel = LogLineAuditChannel()
    now = clock.now()

    def grant() -> Grant:
        return Grant(
            tenant_id=tenant,
            grant_id=new_id(),
            client_id=ClientId("demo-web"),
            user_id=UserId("bench-user"),
            scope=("openid", "offline_access"),
            session_id="bench",
            auth_time=now,
            acr="1",
            amr=("pwd",),
            claims={"email": "bench@example.org"},
            created_at=now,
            expires_at=now + 86400,
            current_digest=new_id(32),
        )

    def event(grant_id: str) -> Any:
        return container.audit().user_event(
            tenant,
            "",
            "token.issue",
            node_id=NodeId("root"),
            source_ip="203.0.113.7",
            user_agent="bench/1.0",
            actor="demo-web",
            target_id="bench-user",
            details={"grant_type": "refresh_token", "grant_id": grant_id, "jti": new_id(), "scope": "openid"},
        )

    def chain() -> Chain:
        started = grant()
        repo.create(started)
        return Chain(repo, started)

    model_chain, fast_chain, tx_chain = chain(), chain(), chain()
    slots = [getattr(GrantItem, f"h{i}") for i in range(ROTATION_HISTORY)]

    def rotate_model(_i: int) -> object:
        presented, new, generation = model_chain.next_digest()
        item = GrantItem(keys.grant(tenant, model_chain.grant.grant_id), GRANT_SK)
        item.update(
            actions=[
                GrantItem.current_digest.set(new),
                GrantItem.previous_digest.set(presented),
                GrantItem.rotated_at.set(now),
                GrantItem.generation.set(generation + 1),
                slots[generation % ROTATION_HISTORY].set(presented),
            ],
            condition=(GrantItem.current_digest == presented)
            & (GrantItem.generation == generation)
            & (GrantItem.revoked_at == 0)
            & (GrantItem.client_id == "demo-web")
            & (GrantItem.expires_at > now),
        )
        return item

    def rotate_fast(_i: int) -> object:
        presented, new, generation = fast_chain.next_digest()
        return rotate_grant(
            tenant,
            fast_chain.grant.grant_id,
            generation=generation,
            presented_digest=presented,
            new_digest=new,
            client_id=ClientId("demo-web"),
            now=now,
        )

    def rotate_in_transaction(_i: int) -> object:
        presented, new, generation = tx_chain.next_digest()
        key = {"PK": {"S": keys.grant(tenant, tx_chain.grant.grant_id)}, "SK": {"S": GRANT_SK}}
        from chalicelib.storage.connection import hot_path_client

        client = hot_path_client()
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": MainItem.Meta.table_name,
                        "Key": key,
                        "UpdateExpression": UPDATE,
                        "ConditionExpression": CONDITION,
                        "ExpressionAttributeNames": NAMES_BY_SLOT[generation % ROTATION_HISTORY],
                        "ExpressionAttributeValues": {
                            ":new": {"S": new},
                            ":presented": {"S": presented},
                            ":now": {"N": str(now)},
                            ":next": {"N": str(generation + 1)},
                            ":gen": {"N": str(generation)},
                            ":zero": {"N": "0"},
                            ":client": {"S": "demo-web"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": AuditItem.Meta.table_name,
                        "Item": audit_item_for(event(tx_chain.grant.grant_id)).serialize(),
                    }
                },
            ]
        )
        return client.get_item(TableName=MainItem.Meta.table_name, Key=key)  # the grant the response lacks

    def exchange_put(_i: int) -> object:
        grant_item(grant()).save(condition=MainItem.pk.does_not_exist())
        return None

    def exchange_transaction(_i: int) -> object:
        started = grant()
        with transaction() as tx:
            tx.save(grant_item(started), condition=MainItem.pk.does_not_exist())
            tx.save(audit_item_for(event(started.grant_id)), condition=AuditItem.pk.does_not_exist())
        return None

    return {
        "exchange: grant PutItem (before)": exchange_put,
        "exchange: grant + event TransactWriteItems (now)": exchange_transaction,
        "refresh: UpdateItem, PynamoDB model (before)": rotate_model,
        "refresh: UpdateItem, hot-path client (now)": rotate_fast,
        "refresh: update + event TransactWriteItems + GetItem (rejected)": rotate_in_transaction,
        "one event: PutItem": lambda _i: container.audit().append(event("g")),
        "one event: log channel line (now)": lambda _i: channel.publish(dataclasses.replace(event("g"))),
    }


def run() -> dict[str, float]:
    with BenchStack():
        steps = operations()
        counter = RequestCounter().install()
        n, rounds = scaled(300, 5), scaled(5, 1)
        for step in steps.values():
            for i in range(scaled(50, 2)):
                step(i)
        runs: dict[str, list[Measurement]] = {name: [] for name in steps}
        for _ in range(rounds):
            for name, step in steps.items():
                runs[name].append(measure(counter, n, step))
        counter.uninstall()
    results = {name: sorted(ms, key=lambda m: m.cpu_seconds)[len(ms) // 2] for name, ms in runs.items()}
    print(f"\n== audit event writes: CPU of this process, median of {rounds} interleaved rounds of {n} ==")
    print_table(
        [
            (
                name,
                f"{m.cpu_ms_each * 1000:.0f}",
                "-".join(f"{1000 * f(r.cpu_ms_each for r in runs[name]):.0f}" for f in (min, max)),
                f"{m.dynamodb_per_iteration():g}",
            )
            for name, m in results.items()
        ],
        ("operation", "CPU us each", "rounds (us)", "DynamoDB requests"),
    )
    return {name: round(m.cpu_ms_each * 1000, 1) for name, m in results.items()}


if __name__ == "__main__":
    emit_result("audit_writes", {"cpu_us": run()})
