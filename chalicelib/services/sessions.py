"""Browser single sign-on sessions.

The cookie value is ``<session id>.<user id>.<secret>``: the ids let one BatchGet fetch the session and its
user; the secret is checked against its stored digest in constant time.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import LoginSession, User
from chalicelib.core.ids import TenantId, new_id, new_secret
from chalicelib.core.ports import AuthorizationRepository
from chalicelib.core.settings import EffectiveSettings

ACR_PASSWORD = "urn:gatehouse:loa:1"
ACR_MFA = "urn:gatehouse:loa:2"
ACR_VALUES = (ACR_PASSWORD, ACR_MFA)


def acr_for(amr: tuple[str, ...]) -> str:
    return ACR_MFA if "mfa" in amr or (len(set(amr) - {"pwd"}) >= 1 and "pwd" in amr) else ACR_PASSWORD


class SessionService:
    def __init__(self, repository: AuthorizationRepository) -> None:
        self._repository = repository

    def start(
        self,
        tenant_id: TenantId,
        user: User,
        *,
        amr: tuple[str, ...],
        settings: EffectiveSettings,
        ip: str,
        user_agent: str,
        location: str = "",
    ) -> tuple[LoginSession, str]:
        """A new session (not yet stored: it is written with the first authorization code) and its cookie."""
        now = clock.now()
        secret = new_secret()
        session = LoginSession(
            tenant_id=tenant_id,
            session_id=new_id(),
            user_id=user.user_id,
            auth_time=now,
            amr=amr,
            acr=acr_for(amr),
            expires_at=now + int(settings.get("tokens", "session_seconds")),
            secret_digest=secret_digest(secret),
            ip=ip,
            user_agent=user_agent,
            location=location,
        )
        return session, f"{session.session_id}.{user.user_id}.{secret}"

    def store(self, session: LoginSession) -> None:
        """Store a session on its own (when no code is issued with it, e.g. before consent)."""
        self._repository.save_session(session)

    def resolve(self, tenant_id: TenantId, cookie: str | None) -> tuple[LoginSession, User] | None:
        """The live session and active user behind a cookie, or None."""
        if not cookie or len(cookie) > 300:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not all(parts):
            return None
        session_id, user_id, secret = parts
        session, user = self._repository.get_session_with_user(tenant_id, session_id, user_id)  # type: ignore[arg-type]
        if session is None or user is None or session.user_id != user.user_id:
            return None
        if not constant_time_equals(session.secret_digest, secret_digest(secret)):
            return None
        if session.revoked_at or session.expires_at <= clock.now() or user.status != "active":
            return None
        return session, user

    def end(self, tenant_id: TenantId, session_id: str) -> None:
        self._repository.revoke_session(tenant_id, session_id, now=clock.now())

    def get(self, tenant_id: TenantId, session_id: str) -> LoginSession | None:
        return self._repository.get_session(tenant_id, session_id)

    def record_step_up(self, session: LoginSession, amr: tuple[str, ...]) -> LoginSession:
        """The session's user proved another factor: store the stronger ``amr``/``acr`` (and the new auth time)."""
        updated = replace(session, amr=amr, acr=acr_for(amr), auth_time=clock.now())
        self._repository.record_session_authentication(
            session.tenant_id, session.session_id, amr=updated.amr, acr=updated.acr, auth_time=updated.auth_time
        )
        return updated
