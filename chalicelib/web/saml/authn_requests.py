"""SP-initiated login: a signed AuthnRequest over HTTP-Redirect (SAML bindings §3.4), RSA-SHA256 only.

The request ID is recorded (tenant-scoped, expiring) together with the pending authorization flow before the
browser is redirected; the ACS accepts exactly one response to it.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib import container
from chalicelib.core.saml import SamlIntegrationConfig
from chalicelib.web.errors import SamlError
from chalicelib.web.saml.sp_config import acs_url, build_client, idp_entity_id, sp_files, sp_keys


def new_request_id() -> str:
    """An xs:ID (NCName: must not start with a digit) with 160 random bits."""
    return "_" + secrets.token_hex(20)


def redirect_to_idp(
    integration: SamlIntegrationConfig, flow: dict[str, Any], *, relay_state: str = "", force_authn: bool = False
) -> tuple[str, str]:
    """(IdP URL carrying a signed AuthnRequest for this integration, the request ID), after recording the request."""
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    request_id = new_request_id()
    with sp_files(sp_keys(integration)) as files:
        client = build_client(integration, files)
        extra: dict[str, Any] = {"force_authn": "true"} if force_authn else {}
        try:
            _, info = client.prepare_for_authenticate(
                entityid=idp_entity_id(client),
                relay_state=relay_state,
                binding=BINDING_HTTP_REDIRECT,
                response_binding=BINDING_HTTP_POST,
                sign=True,
                sigalg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
                message_id=request_id,
                assertion_consumer_service_url=acs_url(integration),
                **extra,
            )
        except Exception as error:
            raise SamlError("idp_metadata_invalid", f"{type(error).__name__}: {error}", status=500) from error
    location = dict(info["headers"]).get("Location")
    if not location:
        raise SamlError("idp_metadata_invalid", "no HTTP-Redirect SSO location", status=500)
    container.saml_sp().remember_request(integration.tenant_id, integration.name, request_id, flow)
    return str(location), request_id
