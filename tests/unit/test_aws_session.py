"""Cold start: every AWS client comes from one botocore session per thread, and every item type of the main
table shares one PynamoDB connection (each new session or connection builds its client again on first use)."""

from __future__ import annotations

import threading

from pynamodb.connection import Connection

from chalicelib.aws_session import session
from chalicelib.storage.models import AuditItem, ClientItem, GuardItem, MainItem, TierNodeItem


def test_item_types_of_the_main_table_share_one_connection() -> None:
    shared = MainItem._get_connection()
    assert TierNodeItem._get_connection() is shared
    assert GuardItem._get_connection() is shared
    assert ClientItem._get_connection() is shared
    assert AuditItem._get_connection() is not shared  # another table
    assert shared.table_name == TierNodeItem.Meta.table_name


def test_pynamodb_connections_use_the_shared_session() -> None:
    assert Connection(region="us-east-1").session is session()
    assert MainItem._get_connection().connection.session is session()
    assert AuditItem._get_connection().connection.session is session()


def test_each_thread_has_its_own_session() -> None:
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.extend([session(), session()]))
    worker.start()
    worker.join()
    assert seen[0] is seen[1]
    assert seen[0] is not session()
