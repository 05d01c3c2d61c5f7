"""SAML SP state on DynamoDB Local and the local KMS: SP keys encrypted at rest, single-use requests (also under
a race), expiry, the assertion replay cache and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.test_storage_contract import _race

pytestmark = pytest.mark.stack


@pytest.fixture
def repository(local_stack: Any) -> Any:
    from chalicelib.storage.saml_repository import DynamoSamlRepository

    return DynamoSamlRepository()


def test_sp_key_is_created_once_and_stored_encrypted(local_stack: Any) -> None:
    from chalicelib import container
    from chalicelib.core.ids import TenantId
    from chalicelib.storage.saml_repository import DynamoSamlRepository

    service = container.saml_sp()
    first = service.key_pair(TenantId("samlc"), "corp", common_name="samlc corp")
    assert first.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    stored = DynamoSamlRepository().get_sp_key(TenantId("samlc"), "corp")
    assert stored is not None and stored.certificate_pem == first.certificate_pem
    assert b"PRIVATE KEY" not in stored.encrypted_private_key
    assert DynamoSamlRepository().get_sp_key(TenantId("other"), "corp") is None
    # A fresh process (no cache) decrypts the same key through KMS.
    again = type(service)(DynamoSamlRepository(), container.saml_sp()._encryption).key_pair(
        TenantId("samlc"), "corp", common_name="ignored"
    )
    assert again == first


def test_request_is_consumed_once_even_under_a_race(repository: Any) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import TenantId
    from chalicelib.core.saml import SamlRequest

    tenant = TenantId("samlc")
    repository.save_request(SamlRequest(tenant, "corp", "_race1", {"client_id": "c"}, clock.now() + 60))
    results = _race(8, lambda _: repository.consume_request(tenant, "corp", "_race1", now=clock.now()))
    winners = [r for r in results if isinstance(r, SamlRequest)]
    assert len(winners) == 1 and winners[0].flow == {"client_id": "c"}
    assert all(isinstance(r, CodeInvalid) for r in results if r not in winners)


def test_request_is_bound_to_tenant_and_integration_and_expires(repository: Any) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import TenantId
    from chalicelib.core.saml import SamlRequest

    tenant = TenantId("samlc")
    repository.save_request(SamlRequest(tenant, "corp", "_bound", {}, clock.now() + 60))
    for other_tenant, integration in ((TenantId("other"), "corp"), (tenant, "another")):
        with pytest.raises(CodeInvalid):
            repository.consume_request(other_tenant, integration, "_bound", now=clock.now())
    with pytest.raises(CodeInvalid):
        repository.consume_request(tenant, "corp", "_unknown", now=clock.now())
    repository.save_request(SamlRequest(tenant, "corp", "_old", {}, clock.now() + 60))
    with pytest.raises(CodeInvalid):
        repository.consume_request(tenant, "corp", "_old", now=clock.now() + 61)
    assert repository.consume_request(tenant, "corp", "_bound", now=clock.now()).request_id == "_bound"


def test_assertion_ids_are_remembered_per_tenant_and_issuer(repository: Any) -> None:
    from chalicelib.core import clock
    from chalicelib.core.errors import CodeInvalid
    from chalicelib.core.ids import TenantId

    until = clock.now() + 300
    repository.remember_assertion(TenantId("samlc"), "https://idp", "_a1", expires_at=until)
    with pytest.raises(CodeInvalid):
        repository.remember_assertion(TenantId("samlc"), "https://idp", "_a1", expires_at=until)
    repository.remember_assertion(TenantId("other"), "https://idp", "_a1", expires_at=until)
    repository.remember_assertion(TenantId("samlc"), "https://other-idp", "_a1", expires_at=until)
    tenant = TenantId("samlc")
    results = _race(6, lambda _: repository.remember_assertion(tenant, "https://idp", "_r", expires_at=until))
    assert sum(r is None for r in results) == 1
