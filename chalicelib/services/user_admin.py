"""Delegated user administration (admin API): list, create, show, edit the profile, disable/enable, delete and
sign out a tenant's users, each call limited to the users of the nodes the caller administers (``reach``).

A user outside the reach is reported as unknown (NotFound), so an admin cannot even learn that it exists.
Disabling, deleting and "revoke sessions" end every browser session and revoke every grant of the user, which
kills its refresh tokens and, through the grant id each access token carries, its access tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import User, UserStatus
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.core.ports import AuthorizationRepository, GrantRepository, ProvisioningRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import PROFILE_CLAIMS, AccountService
from chalicelib.services.provisioning import GroupService
from chalicelib.services.roles import RoleService

MAX_PAGE = 200
STATUSES: tuple[UserStatus, ...] = ("active", "pending", "disabled")
MAX_CLAIM_LENGTH = 512
POSITION = re.compile(r"^\d{12}\.[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class UserQuery:
    email_prefix: str | None = None
    status: str | None = None
    limit: int = 50
    after: str | None = None  # the position a previous page ended at


def position_of(user: User) -> str:
    return f"{user.created_at:012d}.{user.user_id}"


def check_profile(profile: object) -> dict[str, Any]:
    """OIDC profile claims only; a claim set to null is removed."""
    if not isinstance(profile, dict):
        raise InvalidInput("profile must be an object.", fields={"profile": "invalid"})
    unknown = [k for k in profile if k not in PROFILE_CLAIMS]
    if unknown:
        raise InvalidInput(f"Unknown profile claim '{str(unknown[0])[:64]}'.", fields={"profile": "unknown_claim"})
    for key, value in profile.items():
        if value is not None and (not isinstance(value, str) or len(value) > MAX_CLAIM_LENGTH):
            raise InvalidInput(
                f"'{key}' must be a string of at most {MAX_CLAIM_LENGTH} characters.", fields={key: "invalid"}
            )
    return dict(profile)


class UserAdminService:
    def __init__(
        self,
        accounts: AccountService,
        users: ProvisioningRepository,
        authorizations: AuthorizationRepository,
        grants: GrantRepository,
        groups: GroupService,
        roles: RoleService | None = None,
    ) -> None:
        self._accounts = accounts
        self._users = users
        self._authorizations = authorizations
        self._grants = grants
        self._groups = groups
        self._roles = roles

    def list(self, tenant_id: TenantId, reach: frozenset[NodeId], query: UserQuery) -> tuple[list[User], str | None]:
        """Oldest first, filtered by email prefix and status; with the position of the next page, if any."""
        if not 1 <= query.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1-{MAX_PAGE}.", fields={"limit": "invalid"})
        if query.status is not None and query.status not in STATUSES:
            raise InvalidInput("status must be active, pending or disabled.", fields={"status": "invalid"})
        if query.after is not None and not POSITION.match(query.after):
            raise InvalidInput("Unknown cursor.", fields={"cursor": "invalid"})
        prefix = (query.email_prefix or "").strip().lower()
        users = sorted(
            (
                u
                for u in self._users.list_users(tenant_id)
                if u.tier_node_id in reach
                and u.email.startswith(prefix)
                and (query.status is None or u.status == query.status)
                and (query.after is None or position_of(u) > query.after)
            ),
            key=position_of,
        )
        page = users[: query.limit]
        return page, position_of(page[-1]) if len(users) > query.limit else None

    def get(self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str) -> User:
        user = self._accounts.get(tenant_id, UserId(user_id)) if user_id else None
        if user is None or user.anonymous or user.tier_node_id not in reach:
            raise NotFound("Unknown user.")
        return user

    def create(
        self,
        tenant_id: TenantId,
        node_id: NodeId,
        *,
        email: str,
        password: str | None,
        verified: bool,
        profile: dict[str, Any],
        settings: EffectiveSettings,
    ) -> User:
        """Active when verified, pending otherwise (like ``user create``); AlreadyExists if the email is taken."""
        return self._accounts.create_user(
            tenant_id,
            email=email,
            password=password,
            settings=settings,
            verified=verified,
            profile={k: v for k, v in check_profile(profile).items() if v is not None},
            tier_node_id=node_id,
        )

    def update_profile(
        self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str, profile: dict[str, Any]
    ) -> User:
        current = self.get(tenant_id, reach, user_id)
        merged = {**current.profile, **check_profile(profile)}
        updated = replace(
            current,
            profile={k: v for k, v in merged.items() if v is not None},
            updated_at=max(clock.now(), current.updated_at),
        )
        self._users.replace_user(updated, previous_email=current.email)
        return updated

    def set_disabled(self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str, disabled: bool) -> User:
        """Disable (and sign out everywhere) or re-enable an account; a pending account stays pending."""
        current = self.get(tenant_id, reach, user_id)
        status: UserStatus = "disabled" if disabled else ("active" if current.status == "disabled" else current.status)
        updated = current
        if status != current.status:
            updated = replace(current, status=status, updated_at=max(clock.now(), current.updated_at))
            self._users.replace_user(updated, previous_email=current.email)
        if disabled:
            self._revoke_everything(tenant_id, current.user_id)
        return updated

    def revoke_sessions(self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str) -> dict[str, int]:
        user = self.get(tenant_id, reach, user_id)
        return self._revoke_everything(tenant_id, user.user_id)

    def delete(self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str) -> None:
        """Sign the user out everywhere, then delete the user and its email guard (one transaction)."""
        user = self.get(tenant_id, reach, user_id)
        self._revoke_everything(tenant_id, user.user_id)
        if not self._users.delete_user(tenant_id, user.user_id):
            raise NotFound("Unknown user.")
        self._groups.remove_member(tenant_id, user.user_id)
        if self._roles is not None:
            self._roles.remove_user(tenant_id, user.user_id)

    def _revoke_everything(self, tenant_id: TenantId, user_id: UserId) -> dict[str, int]:
        now = clock.now()
        sessions = [s for s in self._authorizations.list_sessions(tenant_id, user_id) if not s.revoked_at]
        for session in sessions:
            self._authorizations.revoke_session(tenant_id, session.session_id, now=now)
        grants = [g for g in self._grants.list_for_user(tenant_id, user_id) if not g.revoked_at]
        for grant in grants:
            self._grants.revoke(tenant_id, grant.grant_id, now=now)
        return {"sessions": len(sessions), "grants": len(grants)}

    def retire(self, tenant_id: TenantId, reach: frozenset[NodeId], user_id: str) -> tuple[User, dict[str, int]]:
        """Off-boarding that keeps the record (unlike delete): disabled, signed out everywhere, every role
        and group membership dropped."""
        user = self.set_disabled(tenant_id, reach, user_id, disabled=True)
        counts = self._revoke_everything(tenant_id, user.user_id)
        counts["roles"] = self._roles.remove_user(tenant_id, user.user_id) if self._roles is not None else 0
        groups = [g for g in self._groups.list(tenant_id) if user.user_id in g.members]
        for group in groups:
            self._groups.change_membership(tenant_id, group.group_id, user.user_id, member=False)
        counts["groups"] = len(groups)
        return user, counts
