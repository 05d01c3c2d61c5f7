"""Anonymous access: a short-lived identity with its own ``sub`` for a client whose tier allows it, and its
upgrade to a registered account that keeps that ``sub``.

A tier node's ``anonymous`` settings (effective for the client's node) decide: ``enabled``, the scopes an
anonymous identity may get (``scopes``: at most openid and offline_access) and how long it lives
(``lifetime_seconds``). The identity is a user without email or profile, marked anonymous and kept out of the
tenant's user lists; its grant (and so its refresh token) ends with the identity, and the storage TTL removes it
afterwards unless it was upgraded. The upgrade adds an email and a password in one transaction (the email guard
is written with the usual uniqueness condition) and makes the account pending until the registration workflow
has verified the address; signing in with that email and password then yields the same ``sub``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.entities import Client, Grant, User
from chalicelib.core.errors import Forbidden, ScopeNotAllowed
from chalicelib.core.ids import TenantId, new_id, new_user_id
from chalicelib.core.ports import AnonymousRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import check_email, check_password
from chalicelib.services.audit import Origin
from chalicelib.services.passwords import hash_password
from chalicelib.services.registration import RegistrationService
from chalicelib.services.token_events import TokenEvents
from chalicelib.services.tokens import TokenService, make_refresh_token

ANONYMOUS_AMR = ("anon",)
ANONYMOUS_ACR = "urn:gatehouse:acr:anonymous"


class AnonymousService:
    def __init__(
        self,
        repository: AnonymousRepository,
        tokens: TokenService,
        registration: RegistrationService,
        events: TokenEvents,
    ) -> None:
        self._repository = repository
        self._tokens = tokens
        self._registration = registration
        self._events = events

    def sign_in(
        self,
        tenant_id: TenantId,
        client: Client,
        requested: tuple[str, ...] | None,
        settings: EffectiveSettings,
        origin: Origin | None = None,
    ) -> dict[str, Any]:
        """A new anonymous identity and its tokens (its ``token.issue`` event written with it); Forbidden unless
        the client's tier allows it."""
        policy = settings.section("anonymous")
        if not policy["enabled"] or "authorization_code" not in client.grant_types:
            raise Forbidden("Anonymous sign-in is not enabled for this client.")
        allowed = set(policy["scopes"]) & set(client.scopes)
        scope = tuple(s for s in (requested if requested is not None else ("openid",)) if s)
        if not set(scope) <= allowed:
            raise ScopeNotAllowed("An anonymous identity cannot get this scope.")
        now = clock.now()
        lifetime = int(policy["lifetime_seconds"])
        user = User(
            tenant_id=tenant_id,
            user_id=new_user_id(),
            email="",
            email_verified=False,
            status="active",
            profile={},
            tier_node_id=client.tier_node_id,
            created_at=now,
            updated_at=now,
            anonymous=True,
        )
        with_refresh = "offline_access" in scope and "refresh_token" in client.grant_types
        grant_id = new_id()
        refresh_token, digest = make_refresh_token(grant_id, 0) if with_refresh else (None, None)
        grant = Grant(
            tenant_id=tenant_id,
            grant_id=grant_id,
            client_id=client.client_id,
            user_id=user.user_id,
            scope=scope,
            session_id="anonymous",
            auth_time=now,
            acr=ANONYMOUS_ACR,
            amr=ANONYMOUS_AMR,
            claims={},
            created_at=now,
            expires_at=now + lifetime,
            current_digest=digest,
        )
        jti = new_id()
        issued = self._events.issued(
            tenant_id,
            client,
            grant_type="anonymous",
            subject=user.user_id,
            origin=origin,
            jti=jti,
            scope=scope,
            grant_id=grant_id,
        )
        self._repository.create_anonymous(user, grant, expires_at=now + lifetime, events=(issued,))
        return self._tokens_for(tenant_id, client, grant, settings, refresh_token, lifetime, jti)

    def _tokens_for(
        self,
        tenant_id: TenantId,
        client: Client,
        grant: Grant,
        settings: EffectiveSettings,
        refresh_token: str | None,
        lifetime: int,
        jti: str,
    ) -> dict[str, Any]:
        tokens = settings.section("tokens")
        response = self._tokens.grant_response(
            tenant_id,
            grant,
            alg=str(tokens["access_token_alg"]),
            lifetime=min(int(tokens["access_token_seconds"]), lifetime),
            refresh_token=refresh_token,
            jti=jti,
        )
        if "openid" in grant.scope:
            response["id_token"] = self._tokens.id_token(
                tenant_id,
                client_id=client.client_id,
                sub=grant.user_id,
                lifetime=min(int(tokens["id_token_seconds"]), lifetime),
                alg=client.id_token_alg or str(tokens["id_token_alg"]),
                auth_time=grant.auth_time,
                acr=grant.acr,
                amr=grant.amr,
                sid=grant.session_id,
                nonce=None,
                access_token=response["access_token"],
                claims={},
            )
        return response

    def upgrade(self, tenant_id: TenantId, user: User, email: str, password: str, settings: EffectiveSettings) -> User:
        """The anonymous identity becomes a pending registered account with the same ``sub``; the registration
        workflow verifies the address (and, as for any registration, removes the account if it never is)."""
        if not user.anonymous:
            raise Forbidden("Only an anonymous identity can be upgraded.")
        normalized = check_email(email)
        password_hash = hash_password(check_password(password, settings.section("password_policy"), normalized))
        pending = replace(
            user, email=normalized, status="pending", anonymous=False, updated_at=max(clock.now(), user.updated_at)
        )
        verification = self._registration.verification_for(pending, "registration", settings)
        self._repository.upgrade(pending, password_hash, verification)
        self._registration.start_verification(verification, settings)
        return pending
