"""An SP integration wired to in-memory state and a test IdP, for tests that drive the SAML adapter directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import container
from chalicelib.core.ids import TenantId
from chalicelib.core.saml import SamlIntegrationConfig
from chalicelib.services.saml_sp import SamlSpService
from chalicelib.web.saml import sp_config
from chalicelib.web.saml.metadata import sp_metadata_xml
from tests.support.saml_fakes import LocalEncryption, MemorySaml
from tests.support.saml_idp import SamlTestIdP

TENANT = TenantId("acme")


@dataclass
class SpUnderTest:
    integration: SamlIntegrationConfig
    idp: SamlTestIdP
    state: MemorySaml

    @property
    def entity_id(self) -> str:
        return sp_config.sp_entity_id(self.integration)

    @property
    def acs_url(self) -> str:
        return sp_config.acs_url(self.integration)

    def with_options(self, **changes: Any) -> SpUnderTest:
        return replace(self, integration=replace(self.integration, **changes))

    def respond(self, in_response_to: str | None, **kwargs: Any) -> str:
        return self.idp.response(
            sp_entity_id=self.entity_id, acs_url=self.acs_url, in_response_to=in_response_to, **kwargs
        )

    def respond_xml(self, in_response_to: str | None, **kwargs: Any) -> str:
        return self.idp.response_xml(
            sp_entity_id=self.entity_id, acs_url=self.acs_url, in_response_to=in_response_to, **kwargs
        )


@contextmanager
def sp_under_test(idp: SamlTestIdP, *, name: str = "corp", allow_unsolicited: bool = False) -> Iterator[SpUnderTest]:
    """``container.saml_sp`` backed by memory for the duration; the IdP trusts the SP's metadata."""
    state = MemorySaml()
    service = SamlSpService(state, LocalEncryption())
    original = container.saml_sp
    container.saml_sp = lambda: service  # type: ignore[method-assign]
    try:
        integration = SamlIntegrationConfig(TENANT, name, idp.metadata_xml(), allow_unsolicited=allow_unsolicited)
        idp.trust_sp(sp_metadata_xml(integration))
        yield SpUnderTest(integration, idp, state)
    finally:
        container.saml_sp = original  # type: ignore[method-assign]
