"""Account deletion (right to erasure): requested by the user with their password (or, for an account without
one, a recent sign-in), a grace period during which
signing in cancels it, then the ``account_deletion`` workflow erases every item holding the account's personal data.

Requesting marks the user (``deletion_scheduled_at``), signs every device out and starts the workflow with the
mark as input; the workflow waits ``privacy.deletion_grace_seconds`` and erases only if the mark is still the same
(a sign-in clears it; a later request sets a new one and starts its own execution). Audit events about the user
stay, pseudonymized: the user id replaced by a random pseudonym, network and personal details removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.core import clock
from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import User, VerificationKind
from chalicelib.core.errors import DependencyUnavailable, InvalidCredentials, InvalidInput, ReauthenticationRequired
from chalicelib.core.ids import ROOT_NODE, TenantId, UserId
from chalicelib.core.ports import AccountDataRepository, UserRepository, WorkflowEngine
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.audit import AuditService
from chalicelib.services.authentication import PasswordAuthenticator
from chalicelib.services.devices import DeviceService
from chalicelib.services.emails import Mailer
from chalicelib.services.links import verification_id_for

log = logging.getLogger("gatehouse")
WORKFLOW = "account_deletion"
VERIFICATION_KINDS: tuple[VerificationKind, ...] = ("registration", "invitation", "password_reset", "email_change")


class AccountDeletionService:
    def __init__(
        self,
        data: AccountDataRepository,
        users: UserRepository,
        authenticator: PasswordAuthenticator,
        devices: DeviceService,
        audit: AuditService,
        workflows: WorkflowEngine,
        mailer: Mailer,
        remove_from_groups: Callable[[TenantId, UserId], None],
    ) -> None:
        self._data = data
        self._users = users
        self._authenticator = authenticator
        self._devices = devices
        self._audit = audit
        self._workflows = workflows
        self._mailer = mailer
        self._remove_from_groups = remove_from_groups

    def request(
        self,
        tenant_id: TenantId,
        user: User,
        *,
        password: str | None,
        ip: str,
        settings: EffectiveSettings,
        reauthenticated: bool = False,
    ) -> int:
        """Re-authenticate, schedule, sign out everywhere, start the workflow; returns when the erasure is due.

        An account with a password confirms with it. ``password=None`` is for an account without one (it signs in
        only through identity providers): the caller vouches for a recent sign-in (``reauthenticated``)."""
        if password is None:
            if not reauthenticated:
                raise ReauthenticationRequired(detail="deletion without a recent sign-in")
        elif not isinstance(password, str) or not password or len(password) > 1024:
            raise InvalidInput("Enter your password to confirm.", fields={"password": "required"})
        else:
            try:
                self._authenticator.authenticate(tenant_id, user.email, password, ip=ip, settings=settings)
            except InvalidCredentials as error:
                raise InvalidInput("The password is not correct.", fields={"password": "invalid"}) from error
        grace = int(settings.get("privacy", "deletion_grace_seconds"))
        now = clock.now()
        due = now + grace
        self._data.schedule_deletion(tenant_id, user.user_id, at=now)
        try:
            self._workflows.start(
                WORKFLOW,
                name=f"delete-{secret_digest(f'{tenant_id}:{user.user_id}')[:24]}-{now}",
                payload={
                    "tenant_id": tenant_id,
                    "user_id": user.user_id,
                    "scheduled_at": now,
                    "grace_seconds": grace,
                },
            )
        except DependencyUnavailable:
            self._data.cancel_deletion(tenant_id, user.user_id)
            raise
        self._devices.revoke_all(tenant_id, user.user_id)
        self._notify(user, "account_deletion_scheduled", validity_seconds=grace)
        return due

    def cancel(self, tenant_id: TenantId, user: User) -> bool:
        """Called at sign-in (and from the portal): clear the mark, so the waiting workflow erases nothing."""
        cancelled = self._data.cancel_deletion(tenant_id, user.user_id)
        if cancelled:
            self._notify(user, "account_deletion_cancelled")
        return cancelled

    def erase(self, tenant_id: TenantId, user_id: UserId, scheduled_at: int) -> dict[str, int]:
        """The workflow's last step: erase if the account is still scheduled with this mark; idempotent."""
        user = self._users.get(tenant_id, user_id)
        if user is None:
            return {"erased": 0}
        if user.deletion_scheduled_at != scheduled_at:
            return {"erased": 0, "cancelled": 1}
        self._devices.revoke_all(tenant_id, user_id)
        self._remove_from_groups(tenant_id, user_id)
        counts = self._data.erase_user(
            tenant_id,
            user_id,
            verification_ids=[verification_id_for(kind, user_id) for kind in VERIFICATION_KINDS],
            throttle_subjects=[f"EMAIL#{secret_digest(user.email.strip().lower())[:40]}"],
        )
        pseudonym, rewritten = self._audit.pseudonymize_user(tenant_id, user_id)
        self._audit.append(
            self._audit.user_event(
                tenant_id,
                "",
                "account.erased",
                node_id=user.tier_node_id or ROOT_NODE,
                source_ip="",
                user_agent="",
                actor="system",
                target_id=pseudonym,
                details={"count": sum(counts.values())},
            )
        )
        self._notify(user, "account_deleted")
        return {"erased": 1, "audit_events_pseudonymized": rewritten, **counts}

    def _notify(self, user: User, message: str, **values: Any) -> None:
        try:
            self._mailer.send(message, tenant_id=user.tenant_id, node_id=user.tier_node_id, to=user.email, **values)
        except DependencyUnavailable as error:
            log.warning("notice %s for %s/%s failed: %s", message, user.tenant_id, user.user_id, error)
