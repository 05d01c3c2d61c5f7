"""The SCIM server checked by an independent compliance checker (scim2-tester, on scim2-client/httpx2) over HTTP.

Run: discovery (ServiceProviderConfig, ResourceTypes, Schemas, their methods and 404s), misc (unknown endpoints
answer a SCIM 404) and, for Groups, the create/read/delete checks. Not run: the User CRUD checks (the checker
fills ``userName`` with random strings, while Gatehouse's ``userName`` is the account's email address) and the
Group update/attribute checks (the checker makes random members, including groups, and Gatehouse groups hold
users only). See README, SCIM.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.admin.conftest import Scim


def run_checker(scim: Scim, **options: Any) -> list[Any]:
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    with httpx2.Client(base_url=scim.base, headers={"Authorization": f"Bearer {scim.token}"}) as http:
        results = check_server(SyncSCIMClient(http), **options)
    ran = [r for r in results if r.status != Status.SKIPPED]
    assert [(r.title, r.reason) for r in ran if r.status != Status.SUCCESS] == []
    return ran


def test_scim2_tester_discovery_and_error_checks_pass(scim: Scim) -> None:
    ran = run_checker(scim, include_tags={"discovery", "misc"})
    assert len(ran) >= 20


def test_scim2_tester_group_create_read_delete_checks_pass(scim: Scim) -> None:
    ran = run_checker(scim, resource_types=["Group"], include_tags={"crud:create", "crud:read", "crud:delete"})
    titles = {r.title for r in ran}
    assert {"object_creation", "object_query", "object_query_without_id", "object_deletion"} <= titles
