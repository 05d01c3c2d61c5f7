"""The SAML integration named in a URL, as the SP needs it (federation model -> ``SamlIntegrationConfig``)."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.errors import NotFound
from chalicelib.core.federation import IdentityProvider
from chalicelib.core.saml import SamlAttributeMapping, SamlIntegrationConfig
from chalicelib.services.saml_sp import check_integration_name
from chalicelib.web.errors import SamlError


def saml_integration(tenant: str, name: str) -> tuple[IdentityProvider, SamlIntegrationConfig]:
    """The enabled SAML integration ``name`` of ``tenant``; unknown tenants and integrations are 404 pages."""
    tenant_id = container.tenants().tree(tenant).tenant_id
    try:
        check_integration_name(name)
    except Exception as error:
        raise NotFound("Unknown identity provider.") from error
    integration = container.identity_providers().get(tenant_id, name)
    if integration.kind != "saml" or integration.saml is None or not integration.enabled:
        raise NotFound("Unknown identity provider.")
    return integration, config_of(integration)


def config_of(integration: IdentityProvider) -> SamlIntegrationConfig:
    if integration.saml is None:
        raise SamlError("unknown_idp", "not a SAML integration", status=404)
    explicit = integration.attribute_mapping

    def names(target: str) -> tuple[str, ...]:
        return (explicit[target],) if explicit.get(target) else ()

    mapping = SamlAttributeMapping(
        email=names("email"),
        given_name=names("given_name"),
        family_name=names("family_name"),
        name=names("name"),
        groups=names("groups"),
    )
    return SamlIntegrationConfig(
        tenant_id=integration.tenant_id,
        name=integration.name,
        idp_metadata_xml=integration.saml.metadata_xml,
        allow_unsolicited=integration.saml.allow_unsolicited,
        mapping=mapping,
    )
