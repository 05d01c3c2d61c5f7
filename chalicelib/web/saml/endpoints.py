"""HTTP endpoint of the SAML SP metadata: ``GET /t/{tenant}/saml/{idp}/metadata`` (the SP entity ID itself)."""

from __future__ import annotations

from chalicelib.web.errors import saml_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse
from chalicelib.web.oidc.pages import error_page
from chalicelib.web.saml.integrations import saml_integration
from chalicelib.web.saml.metadata import sp_metadata_xml

METADATA_TYPE = "application/samlmetadata+xml"


def _metadata(http: HttpRequest, tenant: str, idp: str) -> HttpResponse:
    _, config = saml_integration(tenant, idp)
    return HttpResponse(200, sp_metadata_xml(config), {"Content-Type": METADATA_TYPE, "Cache-Control": "max-age=300"})


metadata_endpoint = saml_endpoint(error_page)(_metadata)
