"""Authorization codes and browser sign-in sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.core.entities import AuditEvent, AuthorizationCode, LoginSession, User
from chalicelib.core.errors import CodeInvalid
from chalicelib.core.ids import ClientId, TenantId, UserId
from chalicelib.core.risk import HistoryUpdate
from chalicelib.storage import keys
from chalicelib.storage.audit_repository import audit_item_for
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import is_condition_failure, translate_errors, update_or_raise, updated_if
from chalicelib.storage.models import AuditItem, AuthorizationCodeItem, MainItem, SessionItem, UserItem
from chalicelib.storage.risk_repository import history_item
from chalicelib.storage.users_repository import to_user, user_key

CODE = "CODE"
SESSION = "SESSION"


def _ttl(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch + 86400, tz=dt.UTC)


def _to_code(item: AuthorizationCodeItem, digest: str) -> AuthorizationCode:
    return AuthorizationCode(
        tenant_id=TenantId(item.tenant_id),
        code_digest=digest,
        client_id=ClientId(item.client_id),
        user_id=UserId(item.user_id),
        redirect_uri=item.redirect_uri,
        scope=tuple(item.scope),
        nonce=item.nonce,
        code_challenge=item.code_challenge,
        session_id=item.session_id,
        auth_time=int(item.auth_time),
        acr=item.acr,
        amr=tuple(item.amr),
        claims=dict(item.claims),
        expires_at=int(item.expires_at),
        grant_id=item.grant_id,
        consumed_at=int(item.consumed_at or 0),
    )


def _to_session(item: SessionItem) -> LoginSession:
    return LoginSession(
        tenant_id=TenantId(item.tenant_id),
        session_id=item.session_id,
        user_id=UserId(item.user_id),
        auth_time=int(item.auth_time),
        amr=tuple(item.amr),
        acr=item.acr,
        expires_at=int(item.expires_at),
        secret_digest=item.secret_digest,
        ip=item.ip or "",
        user_agent=item.user_agent or "",
        revoked_at=int(item.revoked_at or 0),
        location=item.location or "",
    )


def _session_item(session: LoginSession) -> SessionItem:
    return SessionItem(
        keys.session(session.tenant_id, session.session_id),
        SESSION,
        gsi1pk=keys.user_sessions_index(session.tenant_id, session.user_id),
        gsi1sk=f"{session.auth_time:012d}#{session.session_id}",
        ttl=_ttl(session.expires_at),
        tenant_id=session.tenant_id,
        session_id=session.session_id,
        secret_digest=session.secret_digest,
        user_id=session.user_id,
        auth_time=session.auth_time,
        amr=list(session.amr),
        acr=session.acr,
        expires_at=session.expires_at,
        ip=session.ip,
        user_agent=session.user_agent[:512],
        location=session.location[:128],
    )


class DynamoAuthorizationRepository:
    @translate_errors
    def save_code(
        self,
        code: AuthorizationCode,
        session: LoginSession | None,
        events: Sequence[AuditEvent] = (),
        history: HistoryUpdate | None = None,
    ) -> None:
        item = AuthorizationCodeItem(
            keys.authorization_code(code.tenant_id, code.code_digest),
            CODE,
            gsi1pk=keys.user_codes_index(code.tenant_id, code.user_id),
            gsi1sk=f"{code.expires_at:012d}",
            ttl=_ttl(code.expires_at),
            tenant_id=code.tenant_id,
            client_id=code.client_id,
            user_id=code.user_id,
            redirect_uri=code.redirect_uri,
            scope=list(code.scope),
            nonce=code.nonce,
            code_challenge=code.code_challenge,
            session_id=code.session_id,
            auth_time=code.auth_time,
            acr=code.acr,
            amr=list(code.amr),
            claims=code.claims,
            expires_at=code.expires_at,
            grant_id=code.grant_id,
        )
        if session is None and not events and history is None:
            item.save(condition=MainItem.pk.does_not_exist())
            return
        # The sign-in's audit events and the user's sign-in history ride in the same transaction (it may span
        # tables): no extra request. The history is the one read at this sign-in, updated (last writer wins).
        with transaction() as tx:
            if session is not None:
                tx.save(_session_item(session), condition=MainItem.pk.does_not_exist())
            tx.save(item, condition=MainItem.pk.does_not_exist())
            for event in events:
                tx.save(audit_item_for(event), condition=AuditItem.pk.does_not_exist())
            if history is not None:
                tx.save(history_item(history))

    @translate_errors
    def consume_code(
        self,
        tenant_id: TenantId,
        code_digest: str,
        *,
        client_id: ClientId,
        redirect_uri: str,
        code_challenge: str | None,
        now: int,
    ) -> AuthorizationCode:
        """``code_challenge`` is S256(code_verifier) when the client sent one, else None."""
        item = AuthorizationCodeItem(keys.authorization_code(tenant_id, code_digest), CODE)
        pkce = (
            AuthorizationCodeItem.code_challenge == code_challenge
            if code_challenge is not None
            else AuthorizationCodeItem.code_challenge.does_not_exist()
        )
        try:
            # Single use, client/redirect binding, PKCE (RFC 7636 §4.6) and expiry in one conditional write, so a
            # request that fails any check does not burn the code for the legitimate client.
            item.update(
                actions=[AuthorizationCodeItem.consumed_at.set(now)],
                condition=(AuthorizationCodeItem.consumed_at == 0)
                & (AuthorizationCodeItem.client_id == client_id)
                & (AuthorizationCodeItem.redirect_uri == redirect_uri)
                & (AuthorizationCodeItem.expires_at > now)
                & pkce,
            )
        except UpdateError as error:
            if not is_condition_failure(error):
                raise
            raise self._why_invalid(tenant_id, code_digest, client_id) from error
        return _to_code(item, code_digest)

    def _why_invalid(self, tenant_id: TenantId, code_digest: str, client_id: ClientId) -> CodeInvalid:
        try:
            old = AuthorizationCodeItem.get(keys.authorization_code(tenant_id, code_digest), CODE)
        except DoesNotExist:
            return CodeInvalid(detail="unknown code")
        if old.consumed_at and old.client_id == client_id:
            return CodeInvalid(detail="code reused", reused_grant_id=old.grant_id)
        return CodeInvalid(detail="code expired, PKCE mismatch, or bound to another client or redirect_uri")

    @translate_errors
    def save_session(self, session: LoginSession) -> None:
        _session_item(session).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def get_session_with_user(
        self, tenant_id: TenantId, session_id: str, user_id: UserId
    ) -> tuple[LoginSession | None, User | None]:
        session: LoginSession | None = None
        user: User | None = None
        for item in MainItem.batch_get([(keys.session(tenant_id, session_id), SESSION), user_key(tenant_id, user_id)]):
            if isinstance(item, SessionItem) and item.tenant_id == tenant_id:
                session = _to_session(item)
            elif isinstance(item, UserItem) and item.tenant_id == tenant_id:
                user = to_user(item)
        return session, user

    @translate_errors
    def get_session(self, tenant_id: TenantId, session_id: str) -> LoginSession | None:
        try:
            return _to_session(SessionItem.get(keys.session(tenant_id, session_id), SESSION))
        except DoesNotExist:
            return None

    @translate_errors
    def revoke_session(self, tenant_id: TenantId, session_id: str, *, now: int) -> None:
        updated_if(
            SessionItem(keys.session(tenant_id, session_id), SESSION),
            [SessionItem.revoked_at.set(now)],
            MainItem.pk.exists(),
        )

    @translate_errors
    def list_sessions(self, tenant_id: TenantId, user_id: UserId) -> list[LoginSession]:
        return [
            _to_session(i)
            for i in MainItem.gsi1.query(keys.user_sessions_index(tenant_id, user_id))
            if isinstance(i, SessionItem)
        ]

    @translate_errors
    def record_session_authentication(
        self, tenant_id: TenantId, session_id: str, *, amr: tuple[str, ...], acr: str, auth_time: int
    ) -> None:
        """Step-up: the session's user just authenticated again (a second factor); raises CodeInvalid if the
        session is gone or revoked."""
        update_or_raise(
            SessionItem(keys.session(tenant_id, session_id), SESSION),
            [SessionItem.amr.set(list(amr)), SessionItem.acr.set(acr), SessionItem.auth_time.set(auth_time)],
            MainItem.pk.exists() & (SessionItem.revoked_at == 0),
            CodeInvalid(detail="session gone or revoked"),
        )
