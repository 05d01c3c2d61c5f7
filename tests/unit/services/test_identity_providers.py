"""Identity-provider integrations: document validation, inheritance down the tier tree, secrets, mapping."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.entities import TenantTree, TierNode
from chalicelib.core.errors import AlreadyExists, InvalidInput, NotFound
from chalicelib.core.federation import (
    IdentityProvider,
    discover_by_email,
    effective_integrations,
    map_attributes,
    roles_for_groups,
)
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.services.identity_providers import IdentityProviderService, to_document
from tests.support.saml_metadata import idp_metadata

T = TenantId("acme")
ROOT, ORG, ACCOUNT, OTHER = NodeId("root"), NodeId("n-org"), NodeId("n-acc"), NodeId("n-other")


def _tree() -> TenantTree:
    nodes = [
        TierNode(T, ROOT, "customer", "acme", "Acme", None),
        TierNode(T, ORG, "organization", "org", "Org", ROOT),
        TierNode(T, ACCOUNT, "account", "acc", "Acc", ORG),
        TierNode(T, OTHER, "organization", "other", "Other", ROOT),
    ]
    return TenantTree(T, {n.node_id: n for n in nodes})


class MemoryIdps:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], IdentityProvider] = {}

    def list(self, tenant_id: TenantId) -> list[IdentityProvider]:
        return [i for (t, _), i in self.items.items() if t == tenant_id]

    def get(self, tenant_id: TenantId, name: str) -> IdentityProvider | None:
        return self.items.get((tenant_id, name))

    def create(self, integration: IdentityProvider) -> None:
        key = (integration.tenant_id, integration.name)
        if key in self.items:
            raise AlreadyExists()
        self.items[key] = integration

    def replace(self, integration: IdentityProvider) -> None:
        self.items[(integration.tenant_id, integration.name)] = integration

    def delete(self, tenant_id: TenantId, name: str) -> bool:
        return self.items.pop((tenant_id, name), None) is not None


class XorEncryption:
    """Reversible and context-bound, like the KMS envelope (a different context does not decrypt)."""

    def encrypt(self, plaintext: bytes, context: dict[str, str]) -> bytes:
        return repr(sorted(context.items())).encode() + b"|" + plaintext[::-1]

    def decrypt(self, blob: bytes, context: dict[str, str]) -> bytes:
        prefix, _, body = blob.partition(b"|")
        if prefix != repr(sorted(context.items())).encode():
            raise ValueError("context mismatch")
        return body[::-1]


class FixedTenants:
    def tree(self, tenant_id: str) -> TenantTree:
        return _tree()


@pytest.fixture
def service() -> IdentityProviderService:
    return IdentityProviderService(MemoryIdps(), XorEncryption(), FixedTenants())  # type: ignore[arg-type]


def saml(name: str = "corp", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "saml", "saml": {"metadata": idp_metadata()}, **extra}


def oidc(name: str = "social", **extra: Any) -> dict[str, Any]:
    part = {"issuer": "https://op.example.com", "client_id": "rp", "client_secret": "s3cret-value"}
    return {"name": name, "kind": "oidc", "oidc": part, **extra}


def test_saml_integration_keeps_metadata_and_idp_entity_id(service: IdentityProviderService) -> None:
    created = service.create(T, ROOT, saml(domains=["Corp.Example"], linking="sign_in"))
    assert created.saml is not None and created.saml.idp_entity_id == "https://idp.example.com/saml"
    assert created.domains == ("corp.example",) and created.linking == "sign_in"
    document = to_document(created)
    assert document["saml"]["acs_url"].endswith("/t/acme/saml/corp/acs")
    assert document["saml"]["sp_entity_id"] == document["saml"]["metadata_url"]
    assert document["saml"]["metadata_url"].endswith("/t/acme/saml/corp/metadata")
    assert "metadata" not in document["saml"] and "metadata" in to_document(created, detailed=True)["saml"]


def test_oidc_client_secret_is_encrypted_bound_to_its_integration(service: IdentityProviderService) -> None:
    created = service.create(T, ROOT, oidc())
    assert created.oidc is not None and b"s3cret-value" not in created.oidc.client_secret_blob
    assert service.client_secret(created) == "s3cret-value"
    document = to_document(created)
    assert document["oidc"]["client_secret_set"] is True and "s3cret-value" not in repr(document)
    moved = IdentityProvider(**{**created.__dict__, "name": "elsewhere"})
    with pytest.raises(ValueError, match="context"):
        service.client_secret(moved)


def test_oidc_presets_fill_issuer_and_names(service: IdentityProviderService) -> None:
    google = service.create(
        T,
        ROOT,
        {"name": "google", "kind": "oidc", "oidc": {"preset": "google", "client_id": "x", "client_secret": "y"}},
    )
    assert google.oidc is not None and google.oidc.issuer == "https://accounts.google.com"
    assert google.display_name == "Google"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (saml(name="Bad Name"), "name"),
        (saml(name="a" * 64), "name"),
        ({"name": "x", "kind": "ldap"}, "kind"),
        (saml(saml={"metadata": "<not-xml"}), "metadata"),
        (saml(saml={"metadata": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'}), "metadata"),
        (saml(saml={"metadata": "<x/>" + " " * (201 * 1024)}), "metadata"),
        (saml(saml={"metadata": '<EntityDescriptor entityID="x"/>'}), "metadata"),
        (saml(saml={}), "metadata"),
        (saml(domains=["not a domain"]), "domains"),
        (saml(linking="always"), "linking"),
        (saml(attribute_mapping={"password": "pw"}), "attribute_mapping"),
        (saml(role_mapping={"admins": ["bad role!"]}), "role_mapping"),
        (saml(role_mapping={"admins": []}), "role_mapping"),
        (saml(enabled="yes"), "enabled"),
        (oidc(oidc={"issuer": "http://op.example.com", "client_id": "a", "client_secret": "b"}), "issuer"),
        (oidc(oidc={"issuer": "https://op.example.com?x=1", "client_id": "a", "client_secret": "b"}), "issuer"),
        (oidc(oidc={"issuer": "https://op.example.com", "client_id": "a"}), "client_secret"),
        (
            oidc(
                oidc={"issuer": "https://op.example.com", "client_id": "a", "client_secret": "b", "scopes": ["email"]}
            ),
            "scopes",
        ),
        (oidc(oidc={"preset": "facebook", "client_id": "a", "client_secret": "b"}), "preset"),
    ],
)
def test_invalid_documents_are_refused_with_the_field(
    service: IdentityProviderService, document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        service.create(T, ROOT, document)
    assert field in error.value.fields


def test_names_are_unique_per_tenant(service: IdentityProviderService) -> None:
    service.create(T, ORG, saml())
    with pytest.raises(AlreadyExists):
        service.create(T, OTHER, oidc(name="corp"))


def test_integrations_are_inherited_downward_only(service: IdentityProviderService) -> None:
    service.create(T, ROOT, oidc(name="social"))
    service.create(T, ORG, saml(name="org-sso"))
    service.create(T, OTHER, saml(name="other-sso"))
    service.create(T, ACCOUNT, saml(name="acc-sso", enabled=False))
    assert [i.name for i in service.effective(T, ACCOUNT)] == ["social", "org-sso"]
    assert [i.name for i in service.effective(T, ORG)] == ["social", "org-sso"]
    assert [i.name for i in service.effective(T, ROOT)] == ["social"]
    assert [i.name for i in service.effective(T, OTHER)] == ["social", "other-sso"]
    assert service.find_effective(T, ACCOUNT, "other-sso") is None
    assert service.find_effective(T, ACCOUNT, "acc-sso") is None  # disabled
    assert service.find_effective(T, ACCOUNT, "org-sso") is not None


def test_update_changes_named_fields_and_keeps_the_secret(service: IdentityProviderService) -> None:
    service.create(T, ROOT, oidc())
    updated = service.update(T, "social", {"display_name": "Social", "oidc": {"scopes": ["openid", "email"]}})
    assert updated.display_name == "Social" and updated.oidc is not None
    assert updated.oidc.scopes == ("openid", "email") and service.client_secret(updated) == "s3cret-value"
    with pytest.raises(InvalidInput):
        service.update(T, "social", {"kind": "saml"})
    with pytest.raises(InvalidInput):
        service.update(T, "social", {"saml": {"allow_unsolicited": True}})
    service.delete(T, "social")
    with pytest.raises(NotFound):
        service.get(T, "social")
    with pytest.raises(NotFound):
        service.delete(T, "social")


def test_home_realm_discovery_and_mapping() -> None:
    tree = _tree()
    corp = IdentityProvider(T, "corp", "saml", ORG, "Corp", domains=("corp.example",))
    found = effective_integrations(tree, ACCOUNT, [corp])
    assert discover_by_email("Bob@CORP.example", found) is corp
    assert discover_by_email("bob@other.example", found) is None
    assert discover_by_email("no-at-sign", found) is None
    mapped = map_attributes(
        corp.mapping(), {"mail": ["bob@corp.example", "alt@corp.example"], "givenName": "Bob", "groups": ["b", "a"]}
    )
    assert mapped == {"email": "bob@corp.example", "given_name": "Bob", "groups": ["a", "b"]}
    assert roles_for_groups({"a": ("viewer",), "b": ("editor", "viewer")}, ["a", "b", "c"]) == ["editor", "viewer"]
