"""Storage contract on DynamoDB Local (AWS's own emulator): every conditional write and transaction the
services rely on, including races, single use and tenant isolation."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.stack


def _race(count: int, action: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture(scope="module")
def tenant(local_stack: Any) -> str:
    from chalicelib import container
    from chalicelib.core.ids import TenantId

    slug = "contract"
    if not container.tenants().exists(slug):
        container.tenants().create_customer(slug)
    container.signing_keys().ensure_keys(TenantId(slug))
    return slug


def test_the_storage_under_test_is_dynamodb_local(local_stack: Any) -> None:
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://127.0.0.1:{local_stack.dynamodb.port}"
    import boto3

    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert {"gatehouse-main", "gatehouse-audit"} <= set(tables)


def test_twenty_concurrent_registrations_of_one_email_create_one_account(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.errors import AlreadyExists
    from chalicelib.core.ids import TenantId

    tid = TenantId(tenant)
    settings = container.tenants().effective(tid)
    results = _race(
        20,
        lambda i: container.accounts().create_user(tid, email="Race@Example.com", password=None, settings=settings),
    )
    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, AlreadyExists) for r in results if isinstance(r, Exception))
    assert container.accounts().find_by_email(tid, "race@example.com").user_id == created[0].user_id


def test_a_conditional_password_replacement_lands_once(tenant: str) -> None:
    """Eight concurrent replacements of the same stored hash: exactly one lands (the outdated-password step)."""
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.users_repository import DynamoCredentialRepository

    tid = TenantId(tenant)
    settings = container.tenants().effective(tid)
    container.accounts().create_user(tid, email="swap@example.com", password="Original-pass-9!", settings=settings)
    repository = DynamoCredentialRepository()
    login = repository.get_password_login(tid, "swap@example.com")
    assert login is not None
    results = _race(
        8, lambda i: repository.set_password_hash(tid, "swap@example.com", f"hash-{i}", replaces=login.password_hash)
    )
    assert sorted(results, key=str) == [False] * 7 + [True]
    stored = repository.get_password_login(tid, "swap@example.com")
    assert stored is not None and stored.password_hash == f"hash-{results.index(True)}"
    assert not repository.set_password_hash(tid, "swap@example.com", "late", replaces=login.password_hash)


def test_a_slug_guard_failure_writes_nothing(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.errors import AlreadyExists, InvalidInput
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.tenants_repository import DynamoTenantRepository

    tid = TenantId(tenant)
    node = container.tenants().create_child(tid, None, "org-one")
    with pytest.raises(InvalidInput):
        container.tenants().create_child(tid, None, "org-one")
    # Bypass the service check: the transaction's guard item must refuse it and write no second node.
    twin = type(node)(**{**node.__dict__, "node_id": "n-twin"})
    with pytest.raises(AlreadyExists):
        DynamoTenantRepository().create_node(twin)
    tree = DynamoTenantRepository().load_tree(tid)
    assert tree is not None and "n-twin" not in tree.nodes


def _code(tenant: str, challenge: str | None) -> tuple[str, Any]:
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.services.authorization import CodeRequest

    tid = TenantId(tenant)
    settings = container.tenants().effective(tid)
    user = container.accounts().create_user(
        tid, email=f"code-{os.urandom(4).hex()}@example.com", password=None, settings=settings, verified=True
    )
    session, _ = container.sessions().start(tid, user, amr=("pwd",), settings=settings, ip="", user_agent="")
    request = CodeRequest("client-a", "https://app.example/cb", ("openid",), None, challenge)
    code = container.authorization().issue_code(tid, request, user, session, new_session=True, settings=settings)
    return code, settings


def test_a_code_is_consumed_exactly_once_under_concurrency(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.digests import secret_digest
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.storage.authorizations_repository import DynamoAuthorizationRepository

    code, _ = _code(tenant, None)
    repo = DynamoAuthorizationRepository()
    results = _race(
        10,
        lambda i: repo.consume_code(
            TenantId(tenant),
            secret_digest(code),
            client_id=ClientId("client-a"),
            redirect_uri="https://app.example/cb",
            code_challenge=None,
            now=clock.now(),
        ),
    )
    assert len([r for r in results if not isinstance(r, Exception)]) == 1
    losers = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, CodeInvalid) and r.reused_grant_id for r in losers)


def test_a_failed_binding_or_pkce_check_does_not_burn_the_code(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.digests import s256, secret_digest
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.storage.authorizations_repository import DynamoAuthorizationRepository

    verifier = "v" * 43
    code, _ = _code(tenant, s256(verifier))
    repo = DynamoAuthorizationRepository()

    def consume(client: str, uri: str, challenge: str | None) -> Any:
        return repo.consume_code(
            TenantId(tenant),
            secret_digest(code),
            client_id=ClientId(client),
            redirect_uri=uri,
            code_challenge=challenge,
            now=clock.now(),
        )

    for client, uri, challenge in [
        ("client-b", "https://app.example/cb", s256(verifier)),
        ("client-a", "https://app.example/other", s256(verifier)),
        ("client-a", "https://app.example/cb", s256("w" * 43)),
        ("client-a", "https://app.example/cb", None),
    ]:
        with pytest.raises(CodeInvalid) as raised:
            consume(client, uri, challenge)
        assert raised.value.reused_grant_id is None
    assert consume("client-a", "https://app.example/cb", s256(verifier)).client_id == "client-a"


def test_an_expired_code_is_refused_even_before_ttl_deletes_it(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.digests import secret_digest
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.storage.authorizations_repository import DynamoAuthorizationRepository

    code, _ = _code(tenant, None)
    with pytest.raises(CodeInvalid):
        DynamoAuthorizationRepository().consume_code(
            TenantId(tenant),
            secret_digest(code),
            client_id=ClientId("client-a"),
            redirect_uri="https://app.example/cb",
            code_challenge=None,
            now=clock.now() + 61,
        )


def _grant_record(tenant: str, grant_id: str, digest: str, now: int) -> Any:
    """Client ``client-a``'s grant ``grant_id`` for user ``u``, issued at ``now`` for an hour; its refresh token's
    digest is ``digest``."""
    from chalicelib.core.entities import Grant
    from chalicelib.core.ids import ClientId, TenantId, UserId

    return Grant(
        tenant_id=TenantId(tenant),
        grant_id=grant_id,
        client_id=ClientId("client-a"),
        user_id=UserId("u"),
        scope=("openid",),
        session_id="s",
        auth_time=now,
        acr="1",
        amr=("pwd",),
        claims={},
        created_at=now,
        expires_at=now + 3600,
        current_digest=digest,
    )


def _grant(tenant: str) -> tuple[Any, str]:
    """A stored grant and its first refresh token."""
    from chalicelib.core import clock
    from chalicelib.core.ids import new_id
    from chalicelib.services.tokens import make_refresh_token
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    grant_id = new_id()
    token, digest = make_refresh_token(grant_id, 0)
    DynamoGrantRepository().create(_grant_record(tenant, grant_id, digest, clock.now()))
    return grant_id, token


def test_refresh_rotation_has_one_winner_and_reuse_revokes_the_family(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.services.tokens import make_refresh_token, parse_refresh_token
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    grant_id, token = _grant(tenant)
    _, generation, digest = parse_refresh_token(token) or ("", 0, "")
    new_digests = [make_refresh_token(grant_id, 1)[1] for _ in range(8)]
    results = _race(
        8,
        lambda i: repo.rotate(
            TenantId(tenant),
            grant_id,
            generation=generation,
            presented_digest=digest,
            new_digest=new_digests[i],
            client_id=ClientId("client-a"),
            now=clock.now(),
            grace_seconds=0,
        ),
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, CodeInvalid) for r in results if isinstance(r, Exception))
    # The losers presented a rotated token outside any grace window: the family is revoked.
    grant = repo.get(TenantId(tenant), grant_id)
    assert grant is not None and grant.revoked_at > 0


def test_grace_window_lets_the_previous_token_rotate_once_more(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.services.tokens import make_refresh_token, parse_refresh_token
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    grant_id, token = _grant(tenant)
    _, generation, digest = parse_refresh_token(token) or ("", 0, "")

    def rotate_first_token() -> Any:
        return repo.rotate(
            TenantId(tenant),
            grant_id,
            generation=generation,
            presented_digest=digest,
            new_digest=make_refresh_token(grant_id, 1)[1],
            client_id=ClientId("client-a"),
            now=clock.now(),
            grace_seconds=10,
        )

    first = rotate_first_token()
    retried = rotate_first_token()
    assert retried.current_digest != first.current_digest and not retried.revoked_at


def test_reads_never_cross_tenants(tenant: str) -> None:
    from chalicelib import container
    from chalicelib.core.ids import ClientId, TenantId
    from chalicelib.storage.clients_repository import DynamoClientRepository

    other = "contract-other"
    if not container.tenants().exists(other):
        container.tenants().create_customer(other)
    client, _ = container.clients().create(
        TenantId(tenant), name="mine", client_type="service", client_id="isolated-client", scopes=["api"]
    )
    assert DynamoClientRepository().get(TenantId(other), ClientId(client.client_id)) is None
    assert container.clients().get(TenantId(other), client.client_id) is None
    assert all(c.tenant_id == other for c in DynamoClientRepository().list(TenantId(other)))


def test_throttle_counts_failures_and_blocks_with_growing_duration(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.throttles_repository import DynamoThrottleRepository

    repo = DynamoThrottleRepository()
    now = clock.now()
    subject = f"IP#contract-{os.urandom(3).hex()}"
    states = [
        repo.record_failure(TenantId(tenant), subject, now=now, window=900, threshold=3, base_block=10, max_block=100)
        for _ in range(3)
    ]
    assert states[0]["failures"] == 1 and states[1]["failures"] == 2
    assert states[2]["blocked_until"] == now + 10
    again = [
        repo.record_failure(
            TenantId(tenant), subject, now=now + 20, window=900, threshold=3, base_block=10, max_block=100
        )
        for _ in range(3)
    ]
    assert again[-1]["blocked_until"] == now + 20 + 20


def test_revoking_a_grant_before_it_exists_leaves_a_tombstone_that_blocks_its_creation(tenant: str) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import AlreadyExists
    from chalicelib.core.ids import TenantId, new_id
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    repo = DynamoGrantRepository()
    grant_id = new_id()
    now = clock.now()
    # The loser of a code-reuse race revokes the grant before the winner has created it.
    repo.revoke(TenantId(tenant), grant_id, now=now)
    tombstone = repo.get(TenantId(tenant), grant_id)
    assert tombstone is not None and tombstone.revoked_at == now and tombstone.client_id == ""
    with pytest.raises(AlreadyExists):
        repo.create(_grant_record(tenant, grant_id, "d", now))
    # Revoking an existing grant keeps its data.
    existing, _ = _grant(tenant)
    repo.revoke(TenantId(tenant), existing, now=now)
    revoked = repo.get(TenantId(tenant), existing)
    assert revoked is not None and revoked.revoked_at == now and revoked.client_id == "client-a"
