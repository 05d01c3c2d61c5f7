"""OpenID Connect Discovery 1.0 §3 metadata and the JWKS, derived from what the code supports."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.ids import TenantId
from chalicelib.services.accounts import SCOPE_CLAIMS
from chalicelib.services.clients import STANDARD_SCOPES
from chalicelib.services.sessions import ACR_VALUES
from chalicelib.services.signing_keys import SUPPORTED_ALGS
from chalicelib.services.tokens import issuer_url
from chalicelib.web.errors import oauth_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc import urls
from chalicelib.web.oidc.client_auth import ASSERTION_ALGS, AUTH_METHODS
from chalicelib.web.oidc.grants import GRANT_TYPES
from chalicelib.web.pages.i18n import SUPPORTED_LOCALES

CACHEABLE = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def metadata(tenant_id: TenantId) -> dict[str, object]:
    claims = sorted(
        {
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "sid",
            "azp",
            *(c for scope in SCOPE_CLAIMS.values() for c in scope),
        }
    )
    document: dict[str, object] = {"issuer": issuer_url(tenant_id)}
    document.update({name: urls.endpoint(tenant_id, name) for name in urls.PATHS})
    document.update(
        {
            "scopes_supported": list(STANDARD_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "acr_values_supported": list(ACR_VALUES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "introspection_endpoint_auth_methods_supported": [m for m in AUTH_METHODS if m != "none"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": claims,
            "claim_types_supported": ["normal"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
            "display_values_supported": ["page"],
            "ui_locales_supported": list(SUPPORTED_LOCALES),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }
    )
    return document


@oauth_endpoint
def discovery_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    return json_response(metadata(tree.tenant_id), headers=CACHEABLE)


@oauth_endpoint
def jwks_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree = container.tenants().tree(tenant)
    return json_response(container.signing_keys().jwks(tree.tenant_id), headers=CACHEABLE)
