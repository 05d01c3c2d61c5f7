"""Every storage key embeds a tenant; digests and PKCE follow their RFCs."""

from __future__ import annotations

import pytest

from chalicelib.core.digests import constant_time_equals, s256, secret_digest
from chalicelib.core.ids import TenantId
from chalicelib.storage import keys


@pytest.mark.parametrize("tenant", ["", "a#b"])
def test_keys_cannot_be_built_without_a_valid_tenant(tenant: str) -> None:
    with pytest.raises(ValueError):
        keys.client(TenantId(tenant), "c1")
    with pytest.raises(ValueError):
        keys.user(TenantId(tenant), "u1")


def test_keys_of_two_tenants_never_collide() -> None:
    assert keys.client(TenantId("a"), "x") != keys.client(TenantId("b"), "x")
    assert keys.client(TenantId("a"), "x").startswith("T#a#")


def test_key_parts_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        keys.grant(TenantId("a"), "")


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_digest_and_constant_time_compare() -> None:
    assert secret_digest("abc") == secret_digest("abc")
    assert secret_digest("abc") != secret_digest("abd")
    assert constant_time_equals("x", "x")
    assert not constant_time_equals("x", "y")
