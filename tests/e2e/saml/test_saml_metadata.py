"""``./gatehouse idp add-saml`` with an IdP's metadata file gives a working SP: its metadata URL serves SP
metadata the IdP can load (signing and encryption certificates, signed requests, wanted signed assertions)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from defusedxml import ElementTree

from tests.support.saml_idp import SamlTestIdP

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def test_cli_registered_idp_gets_working_sp_metadata(
    tenant: str, idp: SamlTestIdP, gatehouse: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    metadata_file = tmp_path / "idp-metadata.xml"
    metadata_file.write_text(idp.metadata_xml())
    added = gatehouse("idp", "add-saml", "--tenant", tenant, "--name", "corp", "--metadata", str(metadata_file))
    assert added["sp_entity_id"] == added["metadata_url"]
    assert added["acs_url"].endswith(f"/t/{tenant}/saml/corp/acs")

    response = requests.get(added["metadata_url"], timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/samlmetadata+xml"
    root = ElementTree.fromstring(response.content)
    assert root.get("entityID") == added["sp_entity_id"]
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp is not None
    assert sp.get("AuthnRequestsSigned") == "true" and sp.get("WantAssertionsSigned") == "true"
    uses = sorted(k.get("use", "") for k in sp.findall(f"{MD}KeyDescriptor"))
    assert uses == ["encryption", "signing"]
    assert all(k.find(f".//{DS}X509Certificate") is not None for k in sp.findall(f"{MD}KeyDescriptor"))
    acs = sp.findall(f"{MD}AssertionConsumerService")
    assert [(a.get("Binding"), a.get("Location")) for a in acs] == [
        ("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", added["acs_url"])
    ]
    # The same key pair on every fetch (created once, stored encrypted), and a real IdP can load the document.
    again = ElementTree.fromstring(requests.get(added["metadata_url"], timeout=30).content)
    assert _certificates(again) == _certificates(root)
    SamlTestIdP(tmp_path / "other-idp").trust_sp(response.text)


def _certificates(root: Any) -> list[str]:
    return sorted(c.text or "" for c in root.iter(f"{DS}X509Certificate"))


def test_metadata_of_unknown_integrations_is_a_404_page(tenant: str, live_server: str) -> None:
    for path in (f"/t/{tenant}/saml/nope/metadata", "/t/no-such-tenant/saml/corp/metadata"):
        response = requests.get(f"{live_server}{path}", timeout=30)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/html")
