"""Authorization codes, grants and the tokens issued from them.

A code is created at sign-in with a snapshot of the user's released claims, so the token endpoint never reads
the user again. Exchanging a code creates the grant that owns the refresh-token family; every access token
carries the grant id (``gid``), so revoking the grant revokes everything issued from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, s256, secret_digest
from chalicelib.core.entities import AuditEvent, AuthorizationCode, Client, Grant, LoginSession, User
from chalicelib.core.errors import AlreadyExists, CodeInvalid, RiskRefused, ScopeNotAllowed, TokenInvalid
from chalicelib.core.ids import ClientId, TenantId, UserId, new_id, new_secret
from chalicelib.core.ports import AuthorizationRepository, GrantRepository
from chalicelib.core.risk import HistoryUpdate
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import claims_for_scope
from chalicelib.services.audit import Origin
from chalicelib.services.token_events import TokenEvents
from chalicelib.services.tokens import TokenService, make_refresh_token, parse_refresh_token


@dataclass(frozen=True)
class CodeRequest:
    """What an authorization request binds into its code."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    nonce: str | None
    code_challenge: str | None


def _alg(client: Client, settings: EffectiveSettings) -> str:
    return client.id_token_alg or str(settings.get("tokens", "id_token_alg"))


class AuthorizationService:
    def __init__(
        self, codes: AuthorizationRepository, grants: GrantRepository, tokens: TokenService, events: TokenEvents
    ) -> None:
        self._codes = codes
        self._grants = grants
        self._tokens = tokens
        self._events = events

    def issue_code(
        self,
        tenant_id: TenantId,
        request: CodeRequest,
        user: User,
        session: LoginSession,
        *,
        new_session: bool,
        settings: EffectiveSettings,
        events: Sequence[AuditEvent] = (),
        history: HistoryUpdate | None = None,
    ) -> str:
        """A code for the request; ``events`` (the sign-in's audit events) and ``history`` (the user's updated
        sign-in history) are written in the same transaction."""
        code = new_secret()
        self._codes.save_code(
            AuthorizationCode(
                tenant_id=tenant_id,
                code_digest=secret_digest(code),
                client_id=ClientId(request.client_id),
                user_id=user.user_id,
                redirect_uri=request.redirect_uri,
                scope=request.scope,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                session_id=session.session_id,
                auth_time=session.auth_time,
                acr=session.acr,
                amr=session.amr,
                claims=claims_for_scope(user, request.scope),
                expires_at=clock.now() + int(settings.get("tokens", "authorization_code_seconds")),
                grant_id=new_id(),
            ),
            session if new_session else None,
            events,
            history,
        )
        return code

    def exchange_code(
        self,
        tenant_id: TenantId,
        client: Client,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        settings: EffectiveSettings,
        origin: Origin | None = None,
    ) -> dict[str, Any]:
        """Tokens for a code; the grant and its ``token.issue`` event are one write (no extra request)."""
        now = clock.now()
        try:
            stored = self._codes.consume_code(
                tenant_id,
                secret_digest(code),
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                code_challenge=s256(code_verifier) if code_verifier is not None else None,
                now=now,
            )
        except CodeInvalid as error:
            if error.reused_grant_id:
                # RFC 6749 §4.1.2: a code used twice revokes the tokens previously issued from it.
                self._grants.revoke(tenant_id, error.reused_grant_id, now=now)
                self._events.revoked(
                    tenant_id,
                    client.client_id,
                    client.tier_node_id,
                    subject=error.reused_grant_id,
                    origin=origin,
                    reason="authorization_code_reuse",
                    grant_id=error.reused_grant_id,
                )
            raise
        tokens = settings.section("tokens")
        with_refresh = "refresh_token" in client.grant_types
        refresh_token, digest = make_refresh_token(stored.grant_id, 0) if with_refresh else (None, None)
        grant = Grant(
            tenant_id=tenant_id,
            grant_id=stored.grant_id,
            client_id=client.client_id,
            user_id=stored.user_id,
            scope=stored.scope,
            session_id=stored.session_id,
            auth_time=stored.auth_time,
            acr=stored.acr,
            amr=stored.amr,
            claims=stored.claims,
            created_at=now,
            expires_at=now + int(tokens["refresh_token_seconds"]),
            current_digest=digest,
        )
        jti = new_id()
        issued = self._events.issued(
            tenant_id,
            client,
            grant_type="authorization_code",
            subject=stored.user_id,
            origin=origin,
            jti=jti,
            scope=stored.scope,
            grant_id=stored.grant_id,
        )
        try:
            self._grants.create(grant, (issued,))
        except AlreadyExists as error:
            raise CodeInvalid(detail="grant already created") from error
        response = self._token_response(tenant_id, client, grant, settings, refresh_token, jti)
        if "openid" in stored.scope:
            response["id_token"] = self._tokens.id_token(
                tenant_id,
                client_id=client.client_id,
                sub=stored.user_id,
                lifetime=int(tokens["id_token_seconds"]),
                alg=_alg(client, settings),
                auth_time=stored.auth_time,
                acr=stored.acr,
                amr=stored.amr,
                sid=stored.session_id,
                nonce=stored.nonce,
                access_token=response["access_token"],
                claims=stored.claims,
            )
        return response

    def refresh(
        self,
        tenant_id: TenantId,
        client: Client,
        *,
        refresh_token: str,
        scope: tuple[str, ...] | None,
        settings: EffectiveSettings,
        screen: Callable[[Grant], bool] | None = None,
        origin: Origin | None = None,
    ) -> dict[str, Any]:
        """Rotate the refresh token; ``screen`` (the risk check) may refuse the rotated grant, which revokes it."""
        parsed = parse_refresh_token(refresh_token)
        if parsed is None:
            raise CodeInvalid(detail="malformed refresh token")
        grant_id, generation, presented = parsed
        if scope is not None:
            # RFC 6749 §6: checked before rotating, so a refused request does not consume the token.
            current = self._grants.get(tenant_id, grant_id)
            if current is not None and current.client_id == client.client_id and not set(scope) <= set(current.scope):
                raise ScopeNotAllowed(detail="scope exceeds the grant")
        new_token, new_digest = make_refresh_token(grant_id, generation + 1)
        try:
            grant = self._grants.rotate(
                tenant_id,
                grant_id,
                generation=generation,
                presented_digest=presented,
                new_digest=new_digest,
                client_id=client.client_id,
                now=clock.now(),
                grace_seconds=int(settings.get("tokens", "refresh_reuse_grace_seconds")),
            )
        except CodeInvalid as error:
            if error.reuse_detected:  # the repository revoked the family
                self._family_revoked(tenant_id, client, grant_id, origin, "refresh_token_reuse")
            raise
        new_token = f"{grant_id}.{grant.generation}.{new_token.rsplit('.', 1)[1]}"
        if screen is not None and not screen(grant):
            self._grants.revoke(tenant_id, grant_id, now=clock.now())
            self._family_revoked(tenant_id, client, grant_id, origin, "risk_refused", grant.user_id)
            raise RiskRefused(detail="refresh refused by the risk policy")
        if scope is not None:
            if not set(scope) <= set(grant.scope):
                raise ScopeNotAllowed(detail="scope exceeds the grant")
            grant = replace(grant, scope=scope)
        jti = new_id()
        response = self._token_response(tenant_id, client, grant, settings, new_token, jti)
        self._events.publish(
            self._events.issued(
                tenant_id,
                client,
                grant_type="refresh_token",
                subject=grant.user_id,
                origin=origin,
                jti=jti,
                scope=grant.scope,
                grant_id=grant_id,
            )
        )
        return response

    def _family_revoked(
        self, tenant_id: TenantId, client: Client, grant_id: str, origin: Origin | None, reason: str, user: str = ""
    ) -> None:
        self._events.revoked(
            tenant_id,
            client.client_id,
            client.tier_node_id,
            subject=user or grant_id,
            origin=origin,
            reason=reason,
            grant_id=grant_id,
        )

    def _token_response(
        self,
        tenant_id: TenantId,
        client: Client,
        grant: Grant,
        settings: EffectiveSettings,
        refresh_token: str | None,
        jti: str,
    ) -> dict[str, Any]:
        tokens = settings.section("tokens")
        return self._tokens.grant_response(
            tenant_id,
            grant,
            alg=str(tokens["access_token_alg"]),
            lifetime=int(tokens["access_token_seconds"]),
            refresh_token=refresh_token,
            jti=jti,
        )

    def client_credentials(
        self,
        tenant_id: TenantId,
        client: Client,
        *,
        scope: tuple[str, ...],
        settings: EffectiveSettings,
        origin: Origin | None = None,
    ) -> dict[str, Any]:
        tokens = settings.section("tokens")
        lifetime = int(tokens["access_token_seconds"])
        jti = new_id()
        access_token, _ = self._tokens.access_token(
            tenant_id,
            client_id=client.client_id,
            sub=client.client_id,
            scope=scope,
            lifetime=lifetime,
            alg=str(tokens["access_token_alg"]),
            jti=jti,
        )
        self._events.publish(
            self._events.issued(
                tenant_id,
                client,
                grant_type="client_credentials",
                subject=client.client_id,
                origin=origin,
                jti=jti,
                scope=scope,
            )
        )
        return {"access_token": access_token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(scope)}

    # --- resource side -------------------------------------------------------------------------------------

    def validate_access_token(
        self, tenant_id: TenantId, token: str, *, need_user: bool
    ) -> tuple[dict[str, Any], User | None]:
        """Signature, claims and liveness (grant not revoked, token not revoked, user active): one round trip."""
        claims = self._tokens.verify_access_token(tenant_id, token)
        grant_id = claims.get("gid") if isinstance(claims.get("gid"), str) else None
        user_id = UserId(claims["sub"]) if grant_id and need_user else None
        grant, revoked, user = self._grants.get_token_state(
            tenant_id, grant_id=grant_id, jti=claims["jti"], user_id=user_id
        )
        if revoked:
            raise TokenInvalid(detail="access token revoked")
        if grant_id and (grant is None or grant.revoked_at):
            raise TokenInvalid(detail="grant revoked")
        if need_user and (user is None or user.status != "active"):
            raise TokenInvalid(detail="no active user behind this token")
        return claims, user

    def userinfo(self, tenant_id: TenantId, token: str) -> dict[str, Any]:
        claims, user = self.validate_access_token(tenant_id, token, need_user=True)
        if user is None:
            raise TokenInvalid(detail="no user")
        scope = tuple(str(claims.get("scope", "")).split())
        if "openid" not in scope:
            raise TokenInvalid("The access token was not issued for OpenID Connect.", detail="no openid scope")
        return {"sub": user.user_id, **claims_for_scope(user, scope)}

    def introspect(self, tenant_id: TenantId, client: Client, token: str, hint: str | None) -> dict[str, Any]:
        """RFC 7662: anything invalid, expired, revoked or foreign is simply ``active: false``."""
        order = ("refresh_token", "access_token") if hint == "refresh_token" else ("access_token", "refresh_token")
        for kind in order:
            result = (
                self._introspect_refresh(tenant_id, token)
                if kind == "refresh_token"
                else self._introspect_access(tenant_id, token)
            )
            if result is not None:
                return result
        return {"active": False}

    def _introspect_access(self, tenant_id: TenantId, token: str) -> dict[str, Any] | None:
        try:
            claims, _ = self.validate_access_token(tenant_id, token, need_user=False)
        except TokenInvalid:
            return None
        keep = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti", "auth_time", "acr", "amr")
        return {"active": True, "token_type": "Bearer", **{k: claims[k] for k in keep if k in claims}}

    def _introspect_refresh(self, tenant_id: TenantId, token: str) -> dict[str, Any] | None:
        parsed = parse_refresh_token(token)
        if parsed is None:
            return None
        grant = self._grants.get(tenant_id, parsed[0])
        if grant is None or grant.revoked_at or grant.expires_at <= clock.now() or grant.current_digest is None:
            return None
        if not constant_time_equals(grant.current_digest, parsed[2]):
            return None
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": " ".join(grant.scope),
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "exp": grant.expires_at,
            "iat": grant.created_at,
        }

    def revoke(self, tenant_id: TenantId, client: Client, token: str, hint: str | None) -> dict[str, str]:
        """RFC 7009: revoke a token of this client; unknown or foreign tokens are silently ignored (§2.2).
        Returns what was revoked, for the audit event: ``grant_id`` or ``jti`` (empty when nothing was)."""
        now = clock.now()
        parsed = parse_refresh_token(token)
        if parsed is not None:
            grant = self._grants.get(tenant_id, parsed[0])
            if grant is not None and grant.client_id == client.client_id:
                known = [d for d in (grant.current_digest, grant.previous_digest) if d]
                if any(constant_time_equals(d, parsed[2]) for d in known):
                    self._grants.revoke(tenant_id, grant.grant_id, now=now)
                    return {"grant_id": grant.grant_id, "subject": grant.user_id}
            return {}
        try:
            claims = self._tokens.verify_access_token(tenant_id, token)
        except TokenInvalid:
            return {}
        if claims.get("client_id") != client.client_id:
            return {}
        self._grants.revoke_access_token(tenant_id, claims["jti"], expires_at=int(claims["exp"]))
        return {"jti": claims["jti"], "subject": str(claims.get("sub", ""))}

    def use_client_assertion(self, tenant_id: TenantId, client_id: ClientId, jti: str, *, expires_at: int) -> None:
        """RFC 7523 §3: a client assertion's ``jti`` is accepted once; raises CodeInvalid on replay."""
        self._grants.use_client_assertion(tenant_id, client_id, jti, expires_at=expires_at)

    def revoke_grants_of_session(
        self, tenant_id: TenantId, user: User, session_id: str, origin: Origin | None = None
    ) -> int:
        """At sign-out: end the grants bound to the session (not offline_access ones), one event each."""
        count = 0
        for grant in self._grants.list_for_user(tenant_id, user.user_id):
            if grant.session_id == session_id and not grant.revoked_at and "offline_access" not in grant.scope:
                self._grants.revoke(tenant_id, grant.grant_id, now=clock.now())
                self._events.revoked(
                    tenant_id,
                    grant.client_id,
                    user.tier_node_id,
                    subject=user.user_id,
                    origin=origin,
                    reason="logout",
                    grant_id=grant.grant_id,
                )
                count += 1
        return count
