"""SP metadata of one integration (SAML metadata §2.4.4): entity ID, ACS (HTTP-POST), signing and encryption
certificates, ``AuthnRequestsSigned`` and ``WantAssertionsSigned``."""

from __future__ import annotations

from chalicelib.core.saml import SamlIntegrationConfig
from chalicelib.web.saml.sp_config import client_config, sp_files, sp_keys

VALID_HOURS = 24 * 7


def sp_metadata_xml(integration: SamlIntegrationConfig) -> str:
    from saml2.config import SPConfig
    from saml2.metadata import entity_descriptor, metadata_tostring_fix
    from saml2.validate import valid_instance

    with sp_files(sp_keys(integration)) as files:
        config = SPConfig()
        settings = client_config(integration, files, want_assertions_signed=True)
        settings.pop("metadata")  # the IdP's metadata has no place in ours
        settings["valid_for"] = VALID_HOURS
        config.load(settings)
        descriptor = entity_descriptor(config)
    valid_instance(descriptor)
    text = metadata_tostring_fix(descriptor, {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}, "")
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)
