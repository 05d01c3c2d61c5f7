"""Identity-provider integrations: one partition per tenant (``T#<tenant>#IDPS``), one item per name."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.core.errors import AlreadyExists, NotFound
from chalicelib.core.federation import IdentityProvider, OidcSettings, SamlSettings
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, save_or_raise, translate_errors
from chalicelib.storage.models import IdentityProviderItem, MainItem


def _to_integration(item: IdentityProviderItem) -> IdentityProvider:
    saml = None
    if item.kind == "saml" and item.saml_metadata is not None:
        saml = SamlSettings(
            metadata_xml=item.saml_metadata,
            idp_entity_id=item.saml_idp_entity_id or "",
            allow_unsolicited=bool(item.saml_allow_unsolicited),
        )
    oidc = None
    if item.kind == "oidc" and item.oidc_issuer is not None:
        oidc = OidcSettings(
            issuer=item.oidc_issuer,
            client_id=item.oidc_client_id or "",
            client_secret_blob=bytes(item.oidc_client_secret or b""),
            scopes=tuple(item.oidc_scopes or ()),
            preset=item.oidc_preset,  # type: ignore[arg-type]
        )
    return IdentityProvider(
        tenant_id=TenantId(item.tenant_id),
        name=item.name,
        kind=item.kind,  # type: ignore[arg-type]
        node_id=NodeId(item.node_id),
        display_name=item.display_name,
        enabled=bool(item.enabled),
        domains=tuple(item.domains or ()),
        attribute_mapping=dict(item.attribute_mapping or {}),
        role_mapping={str(k): tuple(v) for k, v in (item.role_mapping or {}).items()},
        linking=item.linking,  # type: ignore[arg-type]
        saml=saml,
        oidc=oidc,
        created_at=int(item.created_at or 0),
        updated_at=int(item.updated_at or 0),
    )


def _to_item(integration: IdentityProvider) -> IdentityProviderItem:
    saml, oidc = integration.saml, integration.oidc
    return IdentityProviderItem(
        keys.identity_providers(integration.tenant_id),
        keys.identity_provider_sk(integration.name),
        tenant_id=integration.tenant_id,
        name=integration.name,
        kind=integration.kind,
        node_id=integration.node_id,
        display_name=integration.display_name,
        enabled=integration.enabled,
        domains=list(integration.domains),
        attribute_mapping=dict(integration.attribute_mapping),
        role_mapping={k: list(v) for k, v in integration.role_mapping.items()},
        linking=integration.linking,
        saml_metadata=saml.metadata_xml if saml else None,
        saml_idp_entity_id=saml.idp_entity_id if saml else None,
        saml_allow_unsolicited=saml.allow_unsolicited if saml else False,
        oidc_issuer=oidc.issuer if oidc else None,
        oidc_client_id=oidc.client_id if oidc else None,
        oidc_client_secret=oidc.client_secret_blob if oidc else None,
        oidc_scopes=list(oidc.scopes) if oidc else None,
        oidc_preset=oidc.preset if oidc else None,
        created_at=integration.created_at,
        updated_at=integration.updated_at,
    )


class DynamoIdentityProviderRepository:
    @translate_errors
    def list(self, tenant_id: TenantId) -> list[IdentityProvider]:
        return [
            _to_integration(i)
            for i in IdentityProviderItem.query(keys.identity_providers(tenant_id), consistent_read=True)
            if isinstance(i, IdentityProviderItem)
        ]

    @translate_errors
    def get(self, tenant_id: TenantId, name: str) -> IdentityProvider | None:
        try:
            return _to_integration(
                IdentityProviderItem.get(keys.identity_providers(tenant_id), keys.identity_provider_sk(name))
            )
        except DoesNotExist:
            return None

    @translate_errors
    def create(self, integration: IdentityProvider) -> None:
        save_or_raise(
            _to_item(integration),
            MainItem.sk.does_not_exist(),
            AlreadyExists(f"An identity provider named '{integration.name}' already exists."),
        )

    @translate_errors
    def replace(self, integration: IdentityProvider) -> None:
        save_or_raise(_to_item(integration), MainItem.sk.exists(), NotFound("Unknown identity provider."))

    @translate_errors
    def delete(self, tenant_id: TenantId, name: str) -> bool:
        item = IdentityProviderItem(keys.identity_providers(tenant_id), keys.identity_provider_sk(name))
        try:
            item.delete(condition=MainItem.sk.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
