"""Email verification of pending accounts (registration and invitation): the workflow's steps and the link click.

The email verification workflow (``infra/statemachines/email_verification.asl.json``) calls ``send_link`` with its
task token, waits for the click, falls back to one reminder (``send_link`` again) and finally to ``discard``; a
click calls ``confirm``, which uses the link once and resumes the workflow, whose next step is ``activate``. Every
step is idempotent: a retried or repeated call finds the state it left and does no harm.
"""

from __future__ import annotations

import logging
import time
from enum import Enum

from chalicelib.core import clock
from chalicelib.core.entities import AuditEvent, User, Verification, VerificationKind
from chalicelib.core.errors import CodeInvalid, DependencyUnavailable, InvalidInput
from chalicelib.core.ids import ROOT_NODE, TenantId, UserId
from chalicelib.core.ports import UserRepository, VerificationRepository, WorkflowEngine
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import check_email
from chalicelib.services.audit import SYSTEM, WORKFLOW_ACTOR, AuditService, Origin
from chalicelib.services.emails import Mailer
from chalicelib.services.links import find_usable, link_url, make_link_token, parse_link_token, verification_id_for
from chalicelib.services.password_policy import check_new_password
from chalicelib.services.passwords import hash_password

log = logging.getLogger("gatehouse")

PENDING_KINDS: tuple[VerificationKind, ...] = ("registration", "invitation")
MESSAGES = {
    ("registration", False): "verify_email",
    ("registration", True): "verify_email_reminder",
    ("invitation", False): "invitation",
    ("invitation", True): "invitation_reminder",
}
MAX_SENDS = 8  # every link of one verification, the workflow's included: resend cannot be used to spam a mailbox
ACTIVATION_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.05


class SendResult(Enum):
    SENT = "sent"
    ALREADY_VERIFIED = "already_verified"  # the link was used before this step ran: go on to activation
    GONE = "gone"  # the pending account no longer exists: nothing left to do


class VerificationFlow:
    def __init__(
        self,
        users: UserRepository,
        verifications: VerificationRepository,
        workflows: WorkflowEngine,
        mailer: Mailer,
        audit: AuditService | None = None,
    ) -> None:
        self._users = users
        self._verifications = verifications
        self._workflows = workflows
        self._mailer = mailer
        self._audit = audit

    # --- workflow steps -----------------------------------------------------------------------------------------

    def send_link(
        self, tenant_id: TenantId, verification_id: str, *, task_token: str, link_seconds: int, reminder: bool
    ) -> SendResult:
        """Issue a fresh link valid for ``link_seconds``, keep the task token with it and email it."""
        verification = self._verifications.get(tenant_id, verification_id)
        if verification is None:
            return SendResult.GONE
        user = self._users.get(tenant_id, verification.user_id)
        if verification.consumed_at or (user is not None and user.status != "pending"):
            return SendResult.ALREADY_VERIFIED
        if user is None:
            return SendResult.GONE
        now = clock.now()
        token, digest = make_link_token(verification_id)
        try:
            # Stored before it is sent: a link that arrives always works (until a newer one replaces it).
            verification = self._verifications.issue_link(
                tenant_id,
                verification_id,
                link_digest=digest,
                expires_at=now + link_seconds,
                now=now,
                task_token=task_token,
            )
        except CodeInvalid:
            current = self._verifications.get(tenant_id, verification_id)
            return SendResult.ALREADY_VERIFIED if current is not None else SendResult.GONE
        self._mail(verification, user, token, reminder=reminder)
        return SendResult.SENT

    def activate(self, tenant_id: TenantId, verification_id: str) -> bool:
        """After the click: the pending account becomes active with its email verified (False if it already was)."""
        verification = self._verifications.get(tenant_id, verification_id)
        if verification is None or not verification.consumed_at:
            raise CodeInvalid(detail="activation without a used link")
        return self._verifications.activate(tenant_id, verification.user_id, now=clock.now())

    def discard(self, tenant_id: TenantId, user_id: UserId, verification_id: str) -> bool:
        """After the last timeout: delete the pending account and free its email, unless it was verified."""
        user = self._users.get(tenant_id, user_id)
        verification = self._verifications.get(tenant_id, verification_id)
        deleted = self._verifications.delete_pending_account(tenant_id, user_id, verification_id)
        log.info("pending account %s/%s %s", tenant_id, user_id, "deleted" if deleted else "kept (verified or gone)")
        if deleted and self._audit is not None and user is not None:
            kind = verification.kind if verification is not None else "registration"
            event = self._audit.about_user(
                tenant_id,
                user_id,
                f"{kind}.discarded",
                SYSTEM,
                node_id=user.tier_node_id,
                actor=WORKFLOW_ACTOR,
                details={"reason": "not_verified"},
            )
            self._audit.append_after(event)
        return deleted

    # --- the user ------------------------------------------------------------------------------------------------

    def resend(self, tenant_id: TenantId, email: str) -> None:
        """A new link for a pending account (earlier links stop working). Silent when there is nothing to resend,
        so the answer never tells whether an account exists."""
        user_id = self._users.find_user_id_by_email(tenant_id, check_email(email))
        user = self._users.get(tenant_id, user_id) if user_id else None
        if user is None or user.status != "pending":
            return
        for kind in PENDING_KINDS:
            verification = self._verifications.get(tenant_id, verification_id_for(kind, user.user_id))
            if verification is not None:
                break
        else:
            return
        now = clock.now()
        # The workflow's first email is still on its way, or the link's wait is over (the reminder comes next).
        if verification.consumed_at or not verification.sent_at or verification.expires_at <= now:
            return
        token, digest = make_link_token(verification.verification_id)
        try:
            verification = self._verifications.issue_link(
                tenant_id,
                verification.verification_id,
                link_digest=digest,
                expires_at=verification.expires_at,  # the workflow's wait decides how long any link lives
                now=now,
                max_sends=MAX_SENDS,
            )
        except CodeInvalid:
            return
        self._mail(verification, user, token, reminder=False)

    def peek(
        self, tenant_id: TenantId, token: str, kind: VerificationKind, *, origin: Origin | None = None
    ) -> Verification:
        """The verification a link belongs to if it is still usable (without using it); CodeInvalid otherwise.
        With ``origin`` (an attempt to use the link) an unusable link is recorded as ``verification.failed``."""
        try:
            return find_usable(self._verifications, tenant_id, token, kind, "This link is invalid or has expired.")[0]
        except CodeInvalid as error:
            if origin is not None:
                self._note_failure(tenant_id, token, kind, origin, error)
            raise

    def confirm(
        self,
        tenant_id: TenantId,
        token: str,
        kind: VerificationKind,
        *,
        password: str | None = None,
        settings: EffectiveSettings | None = None,
        origin: Origin = SYSTEM,
    ) -> tuple[User, Verification]:
        """Use the link once (an invitation sets the password with it), resume the workflow and return the
        account once it is active. Recorded as ``verification.completed`` (an invitation's in the transaction
        that sets its password) or ``verification.failed`` with its reason."""
        try:
            return self._confirm(tenant_id, token, kind, password, settings, origin)
        except (CodeInvalid, InvalidInput) as error:
            self._note_failure(tenant_id, token, kind, origin, error)
            raise

    def _confirm(
        self,
        tenant_id: TenantId,
        token: str,
        kind: VerificationKind,
        password: str | None,
        settings: EffectiveSettings | None,
        origin: Origin,
    ) -> tuple[User, Verification]:
        parsed = parse_link_token(token)
        if parsed is None:
            raise CodeInvalid("This link is invalid or has expired.", detail="malformed link")
        set_password, event = None, None
        if kind == "invitation":
            invited, email, password_hash = self._new_password(tenant_id, token, password, settings)
            set_password = (email, password_hash)
            event = self._completed(invited, kind, origin)
        verification = self._verifications.consume(
            tenant_id,
            parsed[0],
            kind=kind,
            link_digest=parsed[1],
            now=clock.now(),
            set_password=set_password,
            event=event,
        )
        user = self._await_activation(verification)
        completed = self._completed(user, kind, origin) if event is None else None
        if completed is not None and self._audit is not None:
            self._audit.append_after(completed)
        return user, verification

    def _completed(self, user: User, kind: VerificationKind, origin: Origin) -> AuditEvent | None:
        if self._audit is None:
            return None
        return self._audit.about_user(
            user.tenant_id,
            user.user_id,
            "verification.completed",
            origin,
            node_id=user.tier_node_id,
            details={"kind": kind},
        )

    def _note_failure(
        self, tenant_id: TenantId, token: str, kind: VerificationKind, origin: Origin, error: Exception
    ) -> None:
        """A link that did not work: about its account when the link names a known verification."""
        if self._audit is None:
            return
        parsed = parse_link_token(token)
        verification = self._verifications.get(tenant_id, parsed[0]) if parsed else None
        user = self._users.get(tenant_id, verification.user_id) if verification is not None else None
        reason = "invalid_link" if isinstance(error, CodeInvalid) else "invalid_input"
        if isinstance(error, InvalidInput) and "password" in error.fields:
            reason = "weak_password"
        event = self._audit.about_user(
            tenant_id,
            user.user_id if user is not None else "",
            "verification.failed",
            origin,
            node_id=user.tier_node_id if user is not None else ROOT_NODE,
            outcome="failure",
            details={"kind": kind, "reason": reason},
        )
        self._audit.append_after(event)

    def _new_password(
        self, tenant_id: TenantId, token: str, password: str | None, settings: EffectiveSettings | None
    ) -> tuple[User, str, str]:
        verification = self.peek(tenant_id, token, "invitation")
        user = self._users.get(tenant_id, verification.user_id)
        if user is None or settings is None:
            raise CodeInvalid("This link is invalid or has expired.", detail="invited user gone")
        policy = settings.section("password_policy")
        inputs = [str(v) for v in user.profile.values()]
        checked = check_new_password(password, policy, email=user.email, user_inputs=inputs)
        return user, user.email, hash_password(checked)

    def _await_activation(self, verification: Verification) -> User:
        tenant_id, user_id = verification.tenant_id, verification.user_id
        resumed = False
        if verification.task_token:
            try:
                resumed = self._workflows.complete_task(verification.task_token, {"verified": True})
            except DependencyUnavailable:
                log.warning("could not resume the verification workflow of %s/%s", tenant_id, user_id)
        deadline = time.monotonic() + (ACTIVATION_WAIT_SECONDS if resumed else 0)
        while True:
            user = self._users.get(tenant_id, user_id)
            if user is None:
                raise CodeInvalid("This link is invalid or has expired.", detail="account deleted")
            if user.status == "active" or time.monotonic() >= deadline:
                break
            time.sleep(POLL_SECONDS)
        if user.status == "pending":
            # The workflow could not be resumed (or is slow): the link was used, so activate here; the workflow's
            # own activation step then finds nothing to do.
            self._verifications.activate(tenant_id, user_id, now=clock.now())
            user = self._users.get(tenant_id, user_id) or user
        if user.status != "active":
            raise InvalidInput("This account cannot be activated.", detail=f"status {user.status}")
        return user

    def _mail(self, verification: Verification, user: User, token: str, *, reminder: bool) -> None:
        message = MESSAGES[(verification.kind, reminder)]
        self._mailer.send(
            message,
            tenant_id=user.tenant_id,
            node_id=user.tier_node_id,
            to=user.email,
            link=link_url(user.tenant_id, verification.kind, token),
            validity_seconds=max(1, verification.expires_at - clock.now()),
            email=user.email,
        )
        self._verifications.mark_sent(user.tenant_id, verification.verification_id, now=clock.now())
