"""Linking an upstream identity to a signed-in account (no I/O): the link login never provisions, completes once
for its own user, grant and channel, never takes an identity linked to someone else (also when the conditional
write loses a race), one identity per provider, and app tickets are single-use and short-lived."""

from __future__ import annotations

import pytest

from chalicelib.core import clock
from chalicelib.core.entities import User
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.federation import FederatedIdentity, LinkIntent, UpstreamIdentity
from chalicelib.core.ids import UserId
from chalicelib.services.audit import AuditService
from chalicelib.services.identity_linking import (
    TICKET_SECONDS,
    IdentityLinkingService,
    IdentityTaken,
    LinkRefused,
    ProviderAlreadyLinked,
)
from tests.unit.services.test_federation import ROOT, Bed, Integrations, T


@pytest.fixture(autouse=True)
def frozen_clock() -> object:
    clock.reset()
    yield None
    clock.reset()


class Linking:
    def __init__(self) -> None:
        self.bed = Bed()
        self.service = IdentityLinkingService(
            self.bed.service, self.bed.identities, Integrations(self.bed.integration), AuditService(self.bed.events)
        )  # type: ignore[arg-type]
        self.user = self.person("u-1")

    def person(self, user_id: str) -> User:
        user = User(T, UserId(user_id), f"{user_id}@example.org", True, "active", {}, ROOT, 1, 1)
        self.bed.users.users[user.user_id] = user
        return user

    def start(self, user: User, login_id: str = "link-1", grant: str = "g-1") -> str:
        intent = LinkIntent(user.user_id, grant, "jti-1", "portal")
        self.service.start(T, login_id, self.bed.integration, user, intent, csrf_digest="d", protocol_state={})
        return login_id

    def assert_upstream(self, login_id: str, subject: str = "up-1", groups: tuple[str, ...] = ()) -> None:
        upstream = UpstreamIdentity("corp", subject, {"email": "x@corp.example", "groups": list(groups)}, clock.now())
        login = self.bed.service.accept(T, login_id, upstream)
        assert login.link is not None and login.status == "asserted"

    def complete(self, login_id: str, user: User | None = None, grant: str = "g-1", via: str = "portal") -> object:
        login = self.service.intent_of(T, login_id)
        return self.service.complete(
            T, login, user or self.user, grant_id=grant, via=via, source_ip="1.2.3.4", user_agent="ua"
        )  # type: ignore[arg-type]


def test_links_once_with_roles_and_an_activity_event_and_never_provisions() -> None:
    linking = Linking()
    login_id = linking.start(linking.user)
    linking.assert_upstream(login_id, groups=("staff",))
    outcome = linking.complete(login_id)
    assert outcome.created and outcome.subject == "up-1"  # type: ignore[attr-defined]
    identity = linking.bed.identities.items[("corp", "up-1")]
    assert identity.user_id == linking.user.user_id and identity.roles == ("employee",)
    assert linking.bed.engine.started == [] and len(linking.bed.users.users) == 1  # no JIT, no new account
    [event] = linking.bed.events.events
    assert event.action == "identity.linked" and event.user_id == linking.user.user_id
    assert event.details["integration"] == "corp" and event.details["via"] == "portal"
    with pytest.raises(CodeInvalid):
        linking.complete(login_id)  # single use
    assert linking.bed.logins.items[login_id].status == "completed"


def test_another_user_grant_or_channel_is_refused_and_ends_the_request() -> None:
    for wrong in ({"user": "other"}, {"grant": "g-2"}, {"via": "app"}):
        linking = Linking()
        login_id = linking.start(linking.user)
        linking.assert_upstream(login_id)
        user = linking.person("u-2") if "user" in wrong else linking.user
        with pytest.raises(LinkRefused):
            linking.complete(login_id, user, wrong.get("grant", "g-1"), wrong.get("via", "portal"))
        assert linking.bed.identities.items == {}
        assert linking.bed.logins.items[login_id].status == "failed"
        with pytest.raises(CodeInvalid):
            linking.complete(login_id)  # the right user cannot use it afterwards either


def test_an_identity_linked_to_another_account_is_never_moved() -> None:
    linking = Linking()
    owner = linking.person("owner")
    linking.bed.identities.save(FederatedIdentity(T, "corp", "up-1", owner.user_id, 1, 1), create=True)
    login_id = linking.start(linking.user)
    linking.assert_upstream(login_id)
    with pytest.raises(IdentityTaken):
        linking.complete(login_id)
    assert linking.bed.identities.items[("corp", "up-1")].user_id == owner.user_id
    assert [(e.action, e.outcome) for e in linking.bed.events.events] == [("identity.link_refused", "failure")]


def test_the_conditional_write_decides_a_race() -> None:
    linking = Linking()
    login_id = linking.start(linking.user)
    linking.assert_upstream(login_id)
    identities = linking.bed.identities
    original_get = identities.get
    owner = linking.person("racer")

    def racing_get(tenant_id: object, integration: str, subject: str) -> FederatedIdentity | None:
        found = original_get(tenant_id, integration, subject)  # type: ignore[arg-type]
        if found is None:  # another account links it between our read and our write
            identities.items[(integration, subject)] = FederatedIdentity(T, integration, subject, owner.user_id, 1, 1)
        identities.get = original_get  # type: ignore[method-assign]
        return found

    identities.get = racing_get  # type: ignore[method-assign]
    with pytest.raises(IdentityTaken):
        linking.complete(login_id)
    assert identities.items[("corp", "up-1")].user_id == owner.user_id


def test_one_identity_per_provider() -> None:
    linking = Linking()
    linking.bed.identities.save(FederatedIdentity(T, "corp", "old", linking.user.user_id, 1, 1), create=True)
    with pytest.raises(ProviderAlreadyLinked):
        linking.start(linking.user)


def test_app_tickets_are_single_use_and_short_lived() -> None:
    linking = Linking()
    secret = linking.service.issue_ticket(T, "t-1", linking.bed.integration, linking.user, "g-1", "jti-1")
    login = linking.bed.logins.items["t-1"]
    assert login.status == "issued" and login.link is not None and secret not in login.link.ticket_digest
    with pytest.raises(CodeInvalid):
        linking.service.ticket(T, "t-1", secret + "x")
    found = linking.service.ticket(T, "t-1", secret)
    opened = linking.service.open_ticket(T, found, csrf_digest="browser", protocol_state={"nonce": "n"})
    assert opened.status == "started" and opened.csrf_digest == "browser"
    with pytest.raises(CodeInvalid):
        linking.service.ticket(T, "t-1", secret)  # opened once
    late = linking.service.issue_ticket(T, "t-2", linking.bed.integration, linking.user, "g-1", "jti-1")
    clock.advance(TICKET_SECONDS + 1)
    with pytest.raises(CodeInvalid):
        linking.service.ticket(T, "t-2", late)


def test_an_upstream_refusal_is_reported_and_links_nothing() -> None:
    linking = Linking()
    login_id = linking.start(linking.user)
    linking.bed.service.fail(T, login_id, "upstream_denied")
    with pytest.raises(CodeInvalid, match="did not confirm"):
        linking.complete(login_id)
    assert linking.bed.identities.items == {}
