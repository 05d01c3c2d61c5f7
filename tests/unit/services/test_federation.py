"""Just-in-time provisioning decisions (no I/O): find by federated identity, link under each linking policy,
create, re-login updates, roles from groups, idempotent steps, and single-use transitions of the login."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.entities import TenantTree, TierNode, User
from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.federation import FederatedIdentity, FederatedLogin, IdentityProvider, UpstreamIdentity
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.settings import effective_settings
from chalicelib.services.accounts import AccountService
from chalicelib.services.audit import AuditService
from chalicelib.services.federation import FederationService
from chalicelib.services.roles import RoleService
from tests.unit.services.test_roles import MemoryRoles

T = TenantId("acme")
ROOT = NodeId("root")


class Logins:
    def __init__(self) -> None:
        self.items: dict[str, FederatedLogin] = {}

    def create(self, login: FederatedLogin) -> None:
        self.items[login.login_id] = login

    def get(self, tenant_id: TenantId, login_id: str) -> FederatedLogin | None:
        return self.items.get(login_id)

    def transition(
        self,
        tenant_id: TenantId,
        login_id: str,
        *,
        expected: tuple[str, ...],
        status: str,
        now: int,
        changes: dict[str, Any] | None = None,
    ) -> FederatedLogin:
        login = self.items.get(login_id)
        if login is None or login.status not in expected or login.expires_at <= now:
            raise CodeInvalid()
        self.items[login_id] = replace(login, status=status, **(changes or {}))  # type: ignore[arg-type]
        return self.items[login_id]


class Identities:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], FederatedIdentity] = {}

    def get(self, tenant_id: TenantId, integration: str, subject: str) -> FederatedIdentity | None:
        return self.items.get((integration, subject))

    def save(self, identity: FederatedIdentity, *, create: bool) -> None:
        key = (identity.integration, identity.subject)
        if create and key in self.items:
            raise AlreadyExists()
        self.items[key] = identity

    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[FederatedIdentity]:
        return [i for i in self.items.values() if i.user_id == user_id]


class Users:
    """UserRepository, CredentialRepository and ProvisioningRepository over one dict."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}

    def get(self, tenant_id: TenantId, user_id: UserId) -> User | None:
        return self.users.get(user_id)

    def find_user_id_by_email(self, tenant_id: TenantId, email: str) -> UserId | None:
        return next((u.user_id for u in self.users.values() if u.email == email), None)

    def create_user_with_password(self, user: User, password_hash: str | None) -> None:
        if self.find_user_id_by_email(user.tenant_id, user.email):
            raise AlreadyExists()
        self.users[user.user_id] = user

    def replace_user(self, user: User, *, previous_email: str) -> None:
        owner = self.find_user_id_by_email(user.tenant_id, user.email)
        if owner not in (None, user.user_id):
            raise AlreadyExists()
        self.users[user.user_id] = user


class Integrations:
    def __init__(self, integration: IdentityProvider) -> None:
        self.integration = integration

    def get(self, tenant_id: TenantId, name: str) -> IdentityProvider:
        return self.integration


class Tenants:
    def tree(self, tenant_id: str) -> TenantTree:
        return TenantTree(T, {ROOT: TierNode(T, ROOT, "customer", "acme", "Acme", None)})

    def effective(self, tenant_id: TenantId, node_id: NodeId = ROOT) -> Any:
        return effective_settings([])


class Events:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def append(self, event: Any, *, expires_at: int) -> None:
        self.events.append(event)


class Engine:
    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, workflow: str, *, name: str, payload: dict[str, Any]) -> None:
        self.started.append((name, payload))


class Hooks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def deliver(self, tenant_id: TenantId, event_id: str, event: dict[str, Any]) -> bool:
        self.sent.append((event_id, event))
        return True


class Bed:
    def __init__(self, **integration: Any) -> None:
        self.integration = IdentityProvider(
            T,
            "corp",
            "oidc",
            ROOT,
            "Corp",
            role_mapping={"staff": ("employee",), "ops": ("operator", "employee")},
            **integration,
        )
        self.logins, self.identities, self.users = Logins(), Identities(), Users()
        self.events, self.engine, self.hooks = Events(), Engine(), Hooks()
        self.roles = RoleService(MemoryRoles(), Tenants())  # type: ignore[arg-type]
        self.service = FederationService(
            self.logins,
            self.identities,
            Integrations(self.integration),
            Tenants(),  # type: ignore[arg-type]
            AccountService(self.users, self.users),
            self.users,
            self.users,  # type: ignore[arg-type]
            AuditService(self.events),
            self.engine,
            self.hooks,  # type: ignore[arg-type]
            self.roles,
        )

    def login(self, subject: str = "sub-1", email_verified: bool = True, **attributes: Any) -> str:
        login_id = f"login-{len(self.logins.items)}"
        self.service.start(T, login_id, self.integration, ROOT, {"client_id": "app"}, "digest", {})
        upstream = UpstreamIdentity(
            "corp", subject, {"email": "bob@corp.example", **attributes}, clock.now(), email_verified=email_verified
        )
        self.service.accept(T, login_id, upstream)
        return login_id

    def run(self, login_id: str) -> FederatedLogin:
        if self.service.resolve(T, login_id) == "resolved":
            self.service.record(T, login_id)
            self.service.notify(T, login_id)
        return self.logins.items[login_id]

    def local(self, *, verified: bool = True) -> User:
        user = User(T, UserId("local-1"), "bob@corp.example", verified, "active", {}, ROOT, 1, 1)
        self.users.users[user.user_id] = user
        return user


def test_first_login_creates_the_account_and_records_identity_roles_audit_and_webhook() -> None:
    bed = Bed()
    login_id = bed.login(given_name="Bob", groups=["staff", "ops", "unmapped"])
    assert bed.engine.started == []  # the web layer starts the workflow; here the steps run directly
    login = bed.run(login_id)
    assert login.status == "provisioned" and login.linked_by == "created"
    user = bed.users.users[login.user_id or ""]
    assert user.email == "bob@corp.example" and user.email_verified and user.profile == {"given_name": "Bob"}
    identity = bed.identities.items[("corp", "sub-1")]
    assert identity.roles == ("employee", "operator") and identity.groups == ("ops", "staff", "unmapped")
    assert [e.action for e in bed.events.events] == ["federation.user.create"]
    event_id, event = bed.hooks.sent[0]
    assert event_id == f"provisioned-{login_id}" and event["roles"] == ["employee", "operator"]
    finished, signed_in = bed.service.finish(T, login_id)
    assert finished.status == "completed" and signed_in.user_id == user.user_id
    with pytest.raises(CodeInvalid):
        bed.service.finish(T, login_id)  # the code is issued once


def test_relogin_finds_the_identity_and_updates_mapped_attributes() -> None:
    bed = Bed()
    first = bed.run(bed.login(given_name="Bob"))
    second = bed.run(bed.login(given_name="Robert", family_name="Smith"))
    assert second.linked_by == "identity" and second.user_id == first.user_id
    assert bed.users.users[second.user_id or ""].profile == {"given_name": "Robert", "family_name": "Smith"}


def test_steps_are_idempotent() -> None:
    bed = Bed()
    login_id = bed.login()
    assert bed.service.resolve(T, login_id) == "resolved"
    assert bed.service.resolve(T, login_id) == "resolved"
    bed.service.record(T, login_id)
    assert bed.service.record(T, login_id) == {"status": "provisioned"}
    assert len(bed.users.users) == 1 and len(bed.identities.items) == 1


def test_verified_email_links_only_when_both_sides_are_verified() -> None:
    bed = Bed(linking="verified_email")
    local = bed.local()
    assert bed.run(bed.login()).user_id == local.user_id
    unverified_upstream = Bed(linking="verified_email")
    unverified_upstream.local()
    refused = unverified_upstream.run(unverified_upstream.login(email_verified=False))
    assert refused.status == "failed" and refused.error == "account_exists"
    unverified_local = Bed(linking="verified_email")
    unverified_local.local(verified=False)
    assert unverified_local.run(unverified_local.login()).error == "account_exists"


def test_policy_none_never_links_and_sign_in_waits_for_the_password_proof() -> None:
    bed = Bed(linking="none")
    bed.local()
    assert bed.run(bed.login()).error == "account_exists"
    bed = Bed(linking="sign_in")
    local = bed.local()
    login_id = bed.login()
    waiting = bed.run(login_id)
    assert waiting.status == "link_required" and waiting.user_id == local.user_id
    with pytest.raises(CodeInvalid):
        bed.service.confirm_link(T, login_id, UserId("someone-else"))
    bed.service.confirm_link(T, login_id, local.user_id)
    linked = bed.run(login_id)
    assert linked.status == "provisioned" and linked.linked_by == "sign_in" and linked.user_id == local.user_id


def test_missing_email_and_replayed_assertions_are_refused() -> None:
    bed = Bed()
    login_id = bed.login(email=None)
    assert bed.run(login_id).error == "no_email" and not bed.users.users
    with pytest.raises(CodeInvalid):
        bed.service.accept(T, login_id, UpstreamIdentity("corp", "x", {}, 0))
    with pytest.raises(CodeInvalid):
        bed.service.pending(T, login_id, "corp")


def test_mapped_roles_are_held_at_the_integration_node_and_follow_the_groups() -> None:
    bed = Bed()
    bed.roles.define(T, "employee")
    bed.roles.define(T, "operator")
    bed.roles.define(T, "auditor")
    login = bed.run(bed.login(groups=["ops"]))
    user_id = UserId(login.user_id or "")
    held = {(a.role, a.node_id, a.assigned_by) for a in bed.roles.roles_of(T, user_id)}
    assert held == {("employee", ROOT, "idp:corp"), ("operator", ROOT, "idp:corp")}
    bed.roles.assign(T, user_id, "auditor", ROOT, by="admin")  # given by an admin: never touched by the IdP
    bed.run(bed.login(groups=["staff"]))  # no longer in "ops": operator goes, employee stays
    assert {a.role for a in bed.roles.roles_of(T, user_id)} == {"employee", "auditor"}
    assert bed.events.events[-1].details["roles_skipped"] == ""


def test_a_mapping_to_an_unknown_role_is_skipped_and_audited_not_fatal() -> None:
    bed = Bed()
    bed.roles.define(T, "employee")  # "operator" is not defined
    login = bed.run(bed.login(groups=["ops"]))
    assert login.status == "provisioned"
    assert [a.role for a in bed.roles.roles_of(T, UserId(login.user_id or ""))] == ["employee"]
    assert bed.events.events[-1].details["roles_skipped"] == "operator"


def test_the_email_follows_the_upstream_only_on_the_account_it_created() -> None:
    bed = Bed()
    created = bed.run(bed.login())
    assert bed.identities.items[("corp", "sub-1")].owns_email
    bed.run(bed.login(email="robert@corp.example"))
    assert bed.users.users[created.user_id or ""].email == "robert@corp.example"

    linked = Bed(linking="verified_email")  # an account of its own, linked to the provider by its email
    local = linked.local()
    linked.run(linked.login())
    assert not linked.identities.items[("corp", "sub-1")].owns_email
    again = linked.run(linked.login(email="someone.else@corp.example", given_name="Bobby"))
    assert again.user_id == local.user_id
    kept = linked.users.users[local.user_id]
    assert kept.email == "bob@corp.example" and kept.profile == {"given_name": "Bobby"}
