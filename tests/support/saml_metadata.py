"""A minimal SAML 2.0 IdP metadata document for integration-model tests (the SAML protocol tests build real
metadata with pysaml2)."""

from __future__ import annotations


def idp_metadata(entity_id: str = "https://idp.example.com/saml") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{entity_id}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""
