"""Account recovery (forgot / reset password) and email change.

Forgot-password answers the same whether or not the address has an account; a reset link is single use, expires,
and only the newest one works. A reset sets the new password (policy applies), revokes every session and grant
(refresh tokens, and the access tokens issued from them) of the account, and notifies the owner.

An email change is verified by a link sent to the new address; the old address keeps working until then. At
verification the email guard (the login item, with the password) moves in one transaction with the user's email,
and the old address is notified.
"""

from __future__ import annotations

import logging

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, AuditOutcome, User, Verification, VerificationKind
from chalicelib.core.errors import AlreadyExists, CodeInvalid, DependencyUnavailable, InvalidInput
from chalicelib.core.ids import ROOT_NODE, TenantId, UserId
from chalicelib.core.ports import AuthorizationRepository, GrantRepository, UserRepository, VerificationRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import check_email
from chalicelib.services.audit import SYSTEM, AuditService, Origin
from chalicelib.services.emails import Mailer
from chalicelib.services.links import find_usable, link_url, make_link_token, verification_id_for
from chalicelib.services.password_policy import check_new_password
from chalicelib.services.passwords import hash_password
from chalicelib.services.verification import VerificationFlow

log = logging.getLogger("gatehouse")
INVALID_LINK = "This link is invalid or has expired."


class RecoveryService:
    def __init__(
        self,
        users: UserRepository,
        verifications: VerificationRepository,
        sessions: AuthorizationRepository,
        grants: GrantRepository,
        mailer: Mailer,
        flow: VerificationFlow,
        audit: AuditService | None = None,
    ) -> None:
        self._users = users
        self._verifications = verifications
        self._sessions = sessions
        self._grants = grants
        self._mailer = mailer
        self._flow = flow
        self._audit = audit

    # --- forgot / reset password ---------------------------------------------------------------------------------

    def request_reset(
        self, tenant_id: TenantId, email: str, *, settings: EffectiveSettings, origin: Origin = SYSTEM
    ) -> None:
        """Email a reset link; silent for unknown or disabled accounts. A pending account gets its verification
        (or invitation) link again instead, which is what it needs to get in. The ``password_reset.requested``
        event (for administrators only) says which of these happened."""
        normalized = check_email(email)
        user_id = self._users.find_user_id_by_email(tenant_id, normalized)
        user = self._users.get(tenant_id, user_id) if user_id else None
        if user is None or user.status == "disabled":
            status = "unknown_account" if user is None else "disabled"
            self._note(tenant_id, user, "password_reset.requested", origin, status=status)
            return
        if user.status == "pending":
            self._flow.resend(tenant_id, normalized)
            self._note(tenant_id, user, "password_reset.requested", origin, status="verification_resent")
            return
        recovery = settings.section("recovery")
        previous = self._verifications.get(tenant_id, verification_id_for("password_reset", user.user_id))
        if previous is not None and clock.now() - previous.sent_at < int(recovery["reset_cooldown_seconds"]):
            self._note(tenant_id, user, "password_reset.requested", origin, status="cooldown")
            return  # one reset email per cooldown: the earlier link still works
        self._send_link(user, "password_reset", int(recovery["reset_link_seconds"]), "password_reset", to=user.email)
        self._note(tenant_id, user, "password_reset.requested", origin, status="sent")

    def reset_password(
        self, tenant_id: TenantId, token: str, password: str, *, settings: EffectiveSettings, origin: Origin = SYSTEM
    ) -> User:
        """Set the new password with the link (once), end every session and grant, notify the owner; recorded
        as ``password_reset.completed`` in the same transaction, or ``password_reset.failed`` with its reason."""
        user = None
        try:
            verification, digest = self._usable(tenant_id, token, "password_reset")
            user = self._users.get(tenant_id, verification.user_id)
            if user is None or user.status != "active":
                raise CodeInvalid(INVALID_LINK, detail="account gone or not active")
            policy = settings.section("password_policy")
            inputs = [str(v) for v in user.profile.values() if isinstance(v, str)]
            new_hash = hash_password(check_new_password(password, policy, email=user.email, user_inputs=inputs))
            self._verifications.consume(
                tenant_id,
                verification.verification_id,
                kind="password_reset",
                link_digest=digest,
                now=clock.now(),
                set_password=(user.email, new_hash),
                event=self._event(tenant_id, user, "password_reset.completed", origin),
            )
        except (CodeInvalid, InvalidInput) as error:
            reason = "invalid_link" if isinstance(error, CodeInvalid) else "weak_password"
            self._note(tenant_id, user, "password_reset.failed", origin, outcome="failure", reason=reason)
            raise
        self.revoke_everything(tenant_id, user.user_id)
        self._notify(user, "password_changed", to=user.email)
        return user

    def revoke_everything(self, tenant_id: TenantId, user_id: UserId) -> tuple[int, int]:
        """End every session and revoke every grant of the account; returns (sessions, grants) revoked."""
        now = clock.now()
        sessions = [s for s in self._sessions.list_sessions(tenant_id, user_id) if not s.revoked_at]
        for session in sessions:
            self._sessions.revoke_session(tenant_id, session.session_id, now=now)
        grants = [g for g in self._grants.list_for_user(tenant_id, user_id) if not g.revoked_at]
        for grant in grants:
            self._grants.revoke(tenant_id, grant.grant_id, now=now)
        return len(sessions), len(grants)

    def check_reset_link(self, tenant_id: TenantId, token: str, *, origin: Origin | None = None) -> Verification:
        """The reset link's verification if it is usable (the page shows the form only then). With ``origin``
        (an attempt to use the link, not just to show its form) an unusable link is a ``password_reset.failed``."""
        try:
            return self._usable(tenant_id, token, "password_reset")[0]
        except CodeInvalid:
            if origin is not None:
                self._note(tenant_id, None, "password_reset.failed", origin, outcome="failure", reason="invalid_link")
            raise

    # --- email change ----------------------------------------------------------------------------------------------

    def request_email_change(
        self,
        tenant_id: TenantId,
        user: User,
        new_email: str,
        *,
        settings: EffectiveSettings,
        origin: Origin = SYSTEM,
    ) -> None:
        """Send a confirmation link to the new address; the same answer when the address is taken (its owner
        gets a notice instead). Recorded as ``account.email_change_requested``."""
        normalized = check_email(new_email)
        if normalized == user.email:
            raise InvalidInput("This is already your email address.", fields={"new_email": "unchanged"})
        if self._users.find_user_id_by_email(tenant_id, normalized) is not None:
            self._notify(user, "email_in_use", to=normalized)
            self._note(tenant_id, user, "account.email_change_requested", origin, status="address_taken")
            return
        seconds = int(settings.get("recovery", "email_change_link_seconds"))
        self._send_link(user, "email_change", seconds, "email_change", to=normalized, new_email=normalized)
        self._note(tenant_id, user, "account.email_change_requested", origin, status="sent")

    def confirm_email_change(self, tenant_id: TenantId, token: str, *, origin: Origin = SYSTEM) -> tuple[str, str]:
        """Move the account to the new address with the link (once); returns (old, new). Recorded as
        ``account.email_changed`` in the same transaction, or ``account.email_change_failed``."""
        owner = None
        try:
            verification, digest = self._usable(tenant_id, token, "email_change")
            owner = self._users.get(tenant_id, verification.user_id)
            event = self._event(tenant_id, owner, "account.email_changed", origin) if owner is not None else None
            old, new = self._verifications.change_email(
                tenant_id, verification.verification_id, link_digest=digest, now=clock.now(), event=event
            )
        except AlreadyExists as error:
            self._note(tenant_id, owner, "account.email_change_failed", origin, outcome="failure", reason="taken")
            raise InvalidInput(
                "This email address now belongs to another account.", fields={"new_email": "taken"}
            ) from error
        except CodeInvalid:
            reason = "invalid_link"
            self._note(tenant_id, owner, "account.email_change_failed", origin, outcome="failure", reason=reason)
            raise
        user = self._users.get(tenant_id, verification.user_id)
        if user is not None:
            self._notify(user, "email_changed", to=old, new_email=new)
        return old, new

    def check_email_change_link(self, tenant_id: TenantId, token: str) -> Verification:
        return self._usable(tenant_id, token, "email_change")[0]

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _event(
        self,
        tenant_id: TenantId,
        user: User | None,
        action: str,
        origin: Origin,
        *,
        outcome: AuditOutcome = "success",
        **details: str,
    ) -> AuditEvent | None:
        """An event about ``user`` (None: an address or link that names no account)."""
        if self._audit is None:
            return None
        return self._audit.about_user(
            tenant_id,
            user.user_id if user is not None else "",
            action,
            origin,
            node_id=user.tier_node_id if user is not None else ROOT_NODE,
            outcome=outcome,
            details=details,
        )

    def _note(
        self,
        tenant_id: TenantId,
        user: User | None,
        action: str,
        origin: Origin,
        *,
        outcome: AuditOutcome = "success",
        **details: str,
    ) -> None:
        event = self._event(tenant_id, user, action, origin, outcome=outcome, **details)
        if event is not None and self._audit is not None:
            self._audit.append_after(event)

    def _usable(self, tenant_id: TenantId, token: str, kind: VerificationKind) -> tuple[Verification, str]:
        return find_usable(self._verifications, tenant_id, token, kind, INVALID_LINK)

    def _send_link(
        self, user: User, kind: VerificationKind, seconds: int, message: str, *, to: str, new_email: str = ""
    ) -> None:
        now = clock.now()
        verification_id = verification_id_for(kind, user.user_id)
        token, digest = make_link_token(verification_id)
        # Saved under the user's fixed id for this purpose: it replaces (and so invalidates) any earlier link.
        self._verifications.save(
            Verification(
                tenant_id=user.tenant_id,
                verification_id=verification_id,
                kind=kind,
                user_id=user.user_id,
                expires_at=now + seconds,
                created_at=now,
                link_digest=digest,
                sent_at=now,
                send_count=1,
                new_email=new_email or None,
            )
        )
        self._mailer.send(
            message,
            tenant_id=user.tenant_id,
            node_id=user.tier_node_id,
            to=to,
            link=link_url(user.tenant_id, kind, token),
            validity_seconds=seconds,
        )

    def _notify(self, user: User, message: str, *, to: str, **values: str) -> None:
        """A notice after the fact: the change already happened, so a mail failure is logged, not raised."""
        try:
            self._mailer.send(message, tenant_id=user.tenant_id, node_id=user.tier_node_id, to=to, **values)
        except DependencyUnavailable as error:
            log.warning("notice %s to the owner of %s/%s failed: %s", message, user.tenant_id, user.user_id, error)
