"""SAML as a federation protocol: the integration model's settings reach the SP, ``prepare`` starts a login for
the seam, and a validated assertion becomes the protocol-neutral ``UpstreamIdentity``."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.core.federation import IdentityProvider, SamlSettings
from chalicelib.core.ids import NodeId
from chalicelib.web.errors import SamlError
from chalicelib.web.saml import protocol
from chalicelib.web.saml.integrations import config_of
from chalicelib.web.saml.responses import accept_response
from tests.support.saml_idp import SamlTestIdP, User
from tests.support.saml_sp import TENANT, SpUnderTest, sp_under_test


@pytest.fixture(scope="module")
def sp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpUnderTest]:
    with sp_under_test(SamlTestIdP(tmp_path_factory.mktemp("idp")), allow_unsolicited=True) as under_test:
        yield under_test


def integration_of(sp: SpUnderTest, **mapping: str) -> IdentityProvider:
    return IdentityProvider(
        tenant_id=TENANT,
        name=sp.integration.name,
        kind="saml",
        node_id=NodeId("root"),
        display_name="Corp",
        attribute_mapping=dict(mapping),
        saml=SamlSettings(sp.integration.idp_metadata_xml, sp.idp.entity_id, allow_unsolicited=True),
    )


def test_prepare_sends_a_signed_request_with_the_login_as_relay_state(sp: SpUnderTest) -> None:
    url, state = protocol.prepare(TENANT, integration_of(sp), "login-123", None)
    assert parse_qs(urlsplit(url).query)["RelayState"] == ["login-123"]
    request = sp.idp.receive_redirect(url)
    assert state == {"request_id": request.id}
    assert sp.state.requests[(TENANT, "corp", request.id)][0].flow == {"login_id": "login-123"}


def test_upstream_identity_carries_raw_attributes_and_mapped_fields(sp: SpUnderTest) -> None:
    integration = integration_of(sp, groups="isMemberOf")
    config = config_of(integration)
    assert config.allow_unsolicited and config.mapping.groups == ("isMemberOf",)
    identity = accept_response(config, sp.respond(None)).identity
    upstream = protocol.upstream_identity(integration, identity)
    assert upstream.integration == "corp" and upstream.subject == "alice@corp.example"
    assert upstream.attributes["mail"] == ["alice@corp.example"]
    assert upstream.attributes["isMemberOf"] == ["engineering", "admins"]
    assert upstream.amr == ("pwd",) and upstream.email_verified
    assert upstream.authn_time == identity.authn_instant


def test_an_email_name_id_reaches_the_mapped_email_attribute(sp: SpUnderTest) -> None:
    integration = integration_of(sp)
    user = User(name_id="dora@corp.example", attributes={"givenName": ["Dora"]})
    identity = accept_response(config_of(integration), sp.respond(None, user=user)).identity
    assert protocol.upstream_identity(integration, identity).attributes["mail"] == ["dora@corp.example"]


def test_transient_name_ids_are_refused(sp: SpUnderTest) -> None:
    integration = integration_of(sp)
    user = User(name_id="_one-time-3f9a", name_id_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    identity = accept_response(config_of(integration), sp.respond(None, user=user)).identity
    with pytest.raises(SamlError) as caught:
        protocol.upstream_identity(integration, identity)
    assert caught.value.reason == "transient_name_id"


@pytest.mark.usefixtures("frozen_clock")
def test_a_fresh_sign_in_sends_force_authn_and_refuses_an_older_authn_instant(sp: SpUnderTest) -> None:
    """prompt=login downstream: ForceAuthn="true" on the signed AuthnRequest, and an assertion whose AuthnInstant
    predates the request (the IdP reused its session) is refused."""
    from dataclasses import replace

    from chalicelib.core import clock
    from chalicelib.web.errors import SamlError

    url, state = protocol.prepare(TENANT, integration_of(sp), "login-7", None, fresh=True)
    request = sp.idp.receive_redirect(url)
    assert request.force_authn == "true"
    assert state == {"request_id": request.id, "fresh_since": str(clock.now())}
    _, plain = protocol.prepare(TENANT, integration_of(sp), "login-8", None)
    assert "fresh_since" not in plain

    identity = accept_response(config_of(integration_of(sp)), sp.respond(None)).identity
    since = int(state["fresh_since"])
    protocol.check_fresh(state, replace(identity, authn_instant=since))
    protocol.check_fresh(plain, replace(identity, authn_instant=since - 3600))  # nothing asked, nothing checked
    for stale in (since - 3600, None):
        with pytest.raises(SamlError) as refused:
            protocol.check_fresh(state, replace(identity, authn_instant=stale))
        assert refused.value.reason == "stale_authentication"
