"""Provisioning by external systems (SCIM): a tenant's users (create, replace, delete, list) and groups.

Accounts are created through ``AccountService`` (or, for unverified addresses, the registration service's
pending-account path) so the email uniqueness guard and the password policy apply. A new active user follows the
tenant's ``provisioning.email_verification`` setting: ``verify`` (the default) creates it pending and starts the
email verification workflow (a set-password invitation when no password was provisioned), exactly the rules of
self-registration, including removal of the pending account when its links expire unused; ``trust`` creates it
verified and active (the provisioning system vouches for the address). A user provisioned inactive is created
disabled, and no email is sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.core import clock
from chalicelib.core.entities import Group, User, UserStatus
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.ports import GroupRepository, ProvisioningRepository, UserRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import PROFILE_CLAIMS, AccountService, check_email
from chalicelib.services.roles import RoleService

MAX_EXTERNAL_ID = 256


class PendingAccounts(Protocol):
    """The registration service's pending-account path (verification email workflow)."""

    def provision_pending(
        self,
        tenant_id: TenantId,
        email: str,
        *,
        password: str | None,
        profile: dict[str, Any],
        settings: EffectiveSettings,
    ) -> User: ...


@dataclass(frozen=True)
class ProvisionedUser:
    """What a provisioning system sets on an account (everything else is ours)."""

    email: str
    active: bool
    profile: dict[str, Any]  # OIDC profile claims it manages; None clears one
    external_id: str | None = None
    enterprise: dict[str, Any] = field(default_factory=dict)  # SCIM enterprise extension (checked by the adapter)


def _check(data: ProvisionedUser) -> ProvisionedUser:
    if data.external_id is not None and (not data.external_id or len(data.external_id) > MAX_EXTERNAL_ID):
        raise InvalidInput("externalId must be 1-256 characters.", fields={"externalId": "invalid"})
    # None (or "") clears a claim on replace; claims the provisioning system does not name are kept.
    profile = {k: (None if v == "" else v) for k, v in data.profile.items() if k in PROFILE_CLAIMS}
    return replace(data, email=check_email(data.email), profile=profile)


class ProvisioningService:
    def __init__(
        self,
        accounts: AccountService,
        repository: ProvisioningRepository,
        groups: GroupService | None = None,
        roles: RoleService | None = None,
        pending_accounts: PendingAccounts | None = None,
    ) -> None:
        self._accounts = accounts
        self._repository = repository
        self._groups = groups
        self._roles = roles
        self._pending = pending_accounts

    def create(
        self, tenant_id: TenantId, data: ProvisionedUser, *, password: str | None, settings: EffectiveSettings
    ) -> User:
        """Raises AlreadyExists when the email is taken, InvalidInput for a bad email or password."""
        data = _check(data)
        profile = {k: v for k, v in data.profile.items() if v is not None}
        verify = settings.get("provisioning", "email_verification") == "verify"
        if data.active and verify and self._pending is not None:
            user = self._pending.provision_pending(
                tenant_id, data.email, password=password, profile=profile, settings=settings
            )
            updated = replace(user, external_id=data.external_id, enterprise=data.enterprise)
            if updated != user:
                self._repository.replace_user(updated, previous_email=user.email)
            return updated
        return self._accounts.create_user(
            tenant_id,
            email=data.email,
            password=password,
            settings=settings,
            verified=not verify,
            profile=profile,
            status="active" if data.active else "disabled",
            external_id=data.external_id,
            enterprise=data.enterprise,
        )

    def get(self, tenant_id: TenantId, user_id: str) -> User:
        user = self._accounts.get(tenant_id, UserId(user_id))
        if user.anonymous:  # anonymous identities are not provisioned accounts
            raise NotFound("Unknown user.")
        return user

    def list(self, tenant_id: TenantId) -> list[User]:
        """All users of the tenant, oldest first."""
        return sorted(self._repository.list_users(tenant_id), key=lambda u: (u.created_at, u.user_id))

    def replace(self, tenant_id: TenantId, user_id: str, data: ProvisionedUser) -> User:
        """Replace what a provisioning system owns; a pending account stays pending until it becomes inactive."""
        current = self.get(tenant_id, user_id)
        data = _check(data)
        status: UserStatus
        if not data.active:
            status = "disabled"
        elif current.status == "disabled":
            status = "active"
        else:
            status = current.status
        updated = replace(
            current,
            email=data.email,
            email_verified=current.email_verified or data.email != current.email,
            status=status,
            profile={k: v for k, v in {**current.profile, **data.profile}.items() if v is not None},
            external_id=data.external_id,
            enterprise=data.enterprise,
            updated_at=max(clock.now(), current.updated_at),
        )
        self._repository.replace_user(updated, previous_email=current.email)
        return updated

    def delete(self, tenant_id: TenantId, user_id: str) -> None:
        if not self._repository.delete_user(tenant_id, UserId(user_id)):
            raise NotFound("Unknown user.")
        if self._groups is not None:
            self._groups.remove_member(tenant_id, UserId(user_id))
        if self._roles is not None:
            self._roles.remove_user(tenant_id, UserId(user_id))


MAX_GROUP_MEMBERS = 1000
MAX_DISPLAY_NAME = 256


@dataclass(frozen=True)
class ProvisionedGroup:
    display_name: str
    members: tuple[str, ...]
    external_id: str | None = None


class GroupService:
    """Groups of a tenant's users. Members must be users of the same tenant (so a group can never reference
    another tenant's user); a deleted user leaves every group (``remove_member``)."""

    def __init__(self, groups: GroupRepository, users: UserRepository) -> None:
        self._groups = groups
        self._users = users

    def _check(self, tenant_id: TenantId, data: ProvisionedGroup) -> ProvisionedGroup:
        name = data.display_name.strip() if isinstance(data.display_name, str) else ""
        if not name or len(name) > MAX_DISPLAY_NAME:
            raise InvalidInput("displayName must be 1-256 characters.", fields={"displayName": "invalid"})
        if data.external_id is not None and (not data.external_id or len(data.external_id) > MAX_EXTERNAL_ID):
            raise InvalidInput("externalId must be 1-256 characters.", fields={"externalId": "invalid"})
        members = tuple(dict.fromkeys(data.members))
        if len(members) > MAX_GROUP_MEMBERS:
            raise InvalidInput(f"A group has at most {MAX_GROUP_MEMBERS} members.", fields={"members": "too_many"})
        unknown = [m for m in members if not m or self._users.get(tenant_id, UserId(m)) is None]
        if unknown:
            raise InvalidInput(f"Unknown member '{unknown[0][:64]}'.", fields={"members": "unknown"})
        return ProvisionedGroup(name, members, data.external_id)

    def create(self, tenant_id: TenantId, data: ProvisionedGroup) -> Group:
        data = self._check(tenant_id, data)
        now = clock.now()
        group = Group(
            tenant_id=tenant_id,
            group_id=str(uuid.uuid4()),
            display_name=data.display_name,
            members=tuple(UserId(m) for m in data.members),
            created_at=now,
            updated_at=now,
            external_id=data.external_id,
        )
        self._groups.create(group)
        return group

    def get(self, tenant_id: TenantId, group_id: str) -> Group:
        group = self._groups.get(tenant_id, group_id) if group_id else None
        if group is None:
            raise NotFound("Unknown group.")
        return group

    def list(self, tenant_id: TenantId) -> list[Group]:
        return sorted(self._groups.list(tenant_id), key=lambda g: (g.created_at, g.group_id))

    def replace(self, tenant_id: TenantId, group_id: str, data: ProvisionedGroup) -> Group:
        current = self.get(tenant_id, group_id)
        data = self._check(tenant_id, data)
        group = replace(
            current,
            display_name=data.display_name,
            members=tuple(UserId(m) for m in data.members),
            external_id=data.external_id,
            updated_at=max(clock.now(), current.updated_at),
        )
        self._groups.replace(group)
        return group

    def delete(self, tenant_id: TenantId, group_id: str) -> None:
        if not group_id or not self._groups.delete(tenant_id, group_id):
            raise NotFound("Unknown group.")

    def remove_member(self, tenant_id: TenantId, user_id: UserId) -> None:
        for group in self._groups.list(tenant_id):
            if user_id in group.members:
                members = tuple(m for m in group.members if m != user_id)
                self._groups.replace(replace(group, members=members, updated_at=clock.now()))

    def change_membership(self, tenant_id: TenantId, group_id: str, user_id: UserId, *, member: bool) -> Group:
        """Add or remove one member (admin API), conditional on the members read: concurrent changes never
        overwrite each other (Conflict: retry)."""
        group = self.get(tenant_id, group_id)
        if member and user_id not in group.members:
            if len(group.members) >= MAX_GROUP_MEMBERS:
                raise InvalidInput(f"A group has at most {MAX_GROUP_MEMBERS} members.", fields={"group": "full"})
            members = (*group.members, user_id)
        elif not member and user_id in group.members:
            members = tuple(m for m in group.members if m != user_id)
        else:
            return group
        updated = replace(group, members=members, updated_at=max(clock.now(), group.updated_at))
        self._groups.set_members(updated, previous=group.members)
        return updated
