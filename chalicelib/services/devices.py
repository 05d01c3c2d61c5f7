"""The user's signed-in devices: single sign-on sessions (browsers) and refresh-token families (apps), and
revoking one of them or all ("sign out everywhere").

"Last used" is the newest of the sign-in and every token issued or refreshed from it (sessions are not written
on every request, so the hot paths stay as they are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.entities import Grant, LoginSession, User
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import TenantId, UserId
from chalicelib.core.ports import AuthorizationRepository, GrantRepository
from chalicelib.services.clients import ClientService

BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/|HeadlessChrome/")),
    ("Safari", re.compile(r"Version/[\d.]+.*Safari/")),
)
SYSTEMS = (
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)


def describe_user_agent(user_agent: str) -> dict[str, str]:
    """{"browser", "os", "device"} from a User-Agent header (best effort; "" when unknown)."""
    browser = next((name for name, pattern in BROWSERS if pattern.search(user_agent)), "")
    system = next((name for name, pattern in SYSTEMS if pattern.search(user_agent)), "")
    if re.search(r"iPad|Tablet", user_agent):
        device = "tablet"
    elif re.search(r"Mobi|iPhone|Android", user_agent):
        device = "mobile"
    elif browser or system:
        device = "desktop"
    else:
        device = "app" if user_agent else ""
    if not browser and user_agent:
        browser = user_agent.split("/", 1)[0].split(" ", 1)[0][:40]
    return {"browser": browser, "os": system, "device": device}


@dataclass(frozen=True)
class DeviceOverview:
    sessions: list[dict[str, object]]
    tokens: list[dict[str, object]]


class DeviceService:
    def __init__(self, sessions: AuthorizationRepository, grants: GrantRepository, clients: ClientService) -> None:
        self._sessions = sessions
        self._grants = grants
        self._clients = clients

    def _live(self, tenant_id: TenantId, user_id: UserId) -> tuple[list[LoginSession], list[Grant]]:
        now = clock.now()
        sessions = [
            s for s in self._sessions.list_sessions(tenant_id, user_id) if not s.revoked_at and s.expires_at > now
        ]
        grants = [
            g
            for g in self._grants.list_for_user(tenant_id, user_id)
            if g.client_id and not g.revoked_at and g.expires_at > now
        ]
        return sessions, grants

    def overview(self, tenant_id: TenantId, user_id: UserId, *, current_session: str = "") -> DeviceOverview:
        sessions, grants = self._live(tenant_id, user_id)
        by_id = {s.session_id: s for s in sessions}
        session_rows = []
        for session in sorted(sessions, key=lambda s: s.auth_time, reverse=True):
            bound = [g for g in grants if g.session_id == session.session_id]
            used = [max(g.created_at, g.rotated_at) for g in bound]
            session_rows.append(
                {
                    "id": session.session_id,
                    "kind": "browser",
                    **describe_user_agent(session.user_agent),
                    "ip": session.ip,
                    "location": session.location,
                    "signed_in_at": session.auth_time,
                    "last_used_at": max([session.auth_time, *used]),
                    "expires_at": session.expires_at,
                    "current": session.session_id == current_session,
                    "applications": sorted(
                        {
                            self._client_name(tenant_id, g.client_id)
                            for g in grants
                            if g.session_id == session.session_id
                        }
                    ),
                }
            )
        token_rows = []
        for grant in sorted(grants, key=lambda g: g.created_at, reverse=True):
            if grant.current_digest is None:
                continue  # no refresh token: its access tokens expire within minutes
            origin = by_id.get(grant.session_id)
            token_rows.append(
                {
                    "id": grant.grant_id,
                    "kind": "refresh_token",
                    "client_id": grant.client_id,
                    "application": self._client_name(tenant_id, grant.client_id),
                    "scope": list(grant.scope),
                    **describe_user_agent(origin.user_agent if origin else ""),
                    "ip": origin.ip if origin else "",
                    "location": origin.location if origin else "",
                    "signed_in_at": grant.auth_time,
                    "last_used_at": max(grant.created_at, grant.rotated_at),
                    "expires_at": grant.expires_at,
                    "session_id": grant.session_id,
                }
            )
        return DeviceOverview(session_rows, token_rows)

    def revoke_session(self, tenant_id: TenantId, user_id: UserId, session_id: str) -> int:
        """Sign one browser out: the session and every grant issued from it; returns the grants revoked."""
        sessions, grants = self._live(tenant_id, user_id)
        if session_id not in {s.session_id for s in sessions}:
            raise NotFound("Unknown session.")
        now = clock.now()
        self._sessions.revoke_session(tenant_id, session_id, now=now)
        bound = [g for g in grants if g.session_id == session_id]
        for grant in bound:
            self._grants.revoke(tenant_id, grant.grant_id, now=now)
        return len(bound)

    def revoke_grant(self, tenant_id: TenantId, user_id: UserId, grant_id: str) -> None:
        """End one refresh-token family (its refresh and access tokens stop working)."""
        _, grants = self._live(tenant_id, user_id)
        if grant_id not in {g.grant_id for g in grants}:
            raise NotFound("Unknown token.")
        self._grants.revoke(tenant_id, grant_id, now=clock.now())

    def revoke_client(self, tenant_id: TenantId, user_id: UserId, client_id: str) -> int:
        """Every live grant of one client (consent withdrawal)."""
        _, grants = self._live(tenant_id, user_id)
        now = clock.now()
        mine = [g for g in grants if g.client_id == client_id]
        for grant in mine:
            self._grants.revoke(tenant_id, grant.grant_id, now=now)
        return len(mine)

    def revoke_all(self, tenant_id: TenantId, user_id: UserId) -> tuple[int, int]:
        """Sign out everywhere: every session and every grant; returns (sessions, grants)."""
        sessions, grants = self._live(tenant_id, user_id)
        now = clock.now()
        for session in sessions:
            self._sessions.revoke_session(tenant_id, session.session_id, now=now)
        for grant in grants:
            self._grants.revoke(tenant_id, grant.grant_id, now=now)
        return len(sessions), len(grants)

    def _client_name(self, tenant_id: TenantId, client_id: str) -> str:
        client = self._clients.get(tenant_id, client_id)
        return client.name if client is not None else client_id

    def session_of_grant(self, tenant_id: TenantId, grant_id: str) -> str:
        grant = self._grants.get(tenant_id, grant_id)
        return grant.session_id if grant is not None else ""

    def live_user(self, tenant_id: TenantId, *, grant_id: str, user_id: UserId, jti: str) -> User | None:
        """The active user behind a live grant (one round trip), or None: the account portal's session check."""
        grant, revoked, user = self._grants.get_token_state(tenant_id, grant_id=grant_id, jti=jti, user_id=user_id)
        if revoked or grant is None or grant.revoked_at or grant.expires_at <= clock.now():
            return None
        if user is None or user.status != "active" or grant.user_id != user_id:
            return None
        return user

    def end_portal_session(self, tenant_id: TenantId, *, grant_id: str, jti: str, expires_at: int) -> None:
        self._grants.revoke(tenant_id, grant_id, now=clock.now())
        self._grants.revoke_access_token(tenant_id, jti, expires_at=expires_at)
