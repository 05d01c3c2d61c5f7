"""Self-service registration and invitations: a pending account and the email verification workflow.

A registration validates everything first (email, password policy, the tenant's attribute schema, then the CAPTCHA),
creates the user, its email guard and its verification in one transaction, starts the workflow under a name derived
from those ids, and waits until the workflow's first email went out. If the workflow cannot start, or the email
cannot be sent (the workflow then deletes the pending account), the caller gets DependencyUnavailable and nothing is
left behind: the same registration can simply be retried.

No account enumeration: for an address that already has an account the answer is the same; an active owner gets
a notice by email instead, and a pending one gets nothing (the resend action is there for that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.attributes import check_attributes, parse_schema
from chalicelib.core.entities import AuditOutcome, User, Verification, VerificationKind
from chalicelib.core.errors import (
    AlreadyExists,
    DependencyUnavailable,
    HumanVerificationFailed,
    InvalidInput,
    RegistrationClosed,
)
from chalicelib.core.ids import ROOT_NODE, NodeId, TenantId, new_user_id
from chalicelib.core.ports import HumanVerifier, UserRepository, VerificationRepository, WorkflowEngine
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.accounts import check_email, check_password
from chalicelib.services.audit import SYSTEM, WORKFLOW_ACTOR, AuditService, Origin
from chalicelib.services.emails import Mailer
from chalicelib.services.links import page_url, verification_id_for
from chalicelib.services.password_policy import check_new_password
from chalicelib.services.passwords import hash_password

log = logging.getLogger("gatehouse")

WORKFLOW = "email_verification"
SEND_WAIT_SECONDS = 12.0  # covers the workflow's retries of a failing first email (see the ASL)
POLL_SECONDS = 0.1
ORPHAN_SECONDS = 60  # a pending account whose workflow never started (a failed clean-up) is restarted after this
FAILURE_REASONS: dict[type[Exception], str] = {
    RegistrationClosed: "closed",
    InvalidInput: "invalid_input",
    HumanVerificationFailed: "human_verification_failed",
}
RETRY_MESSAGE = "We could not complete your registration right now. Nothing was saved; please try again."


@dataclass(frozen=True)
class RegistrationRequest:
    email: str
    password: str
    attributes: Mapping[str, object]
    captcha_token: str | None = None
    remote_ip: str = ""
    resume: dict[str, Any] | None = None  # the authorization request to continue after verification


class RegistrationService:
    def __init__(
        self,
        users: UserRepository,
        verifications: VerificationRepository,
        workflows: WorkflowEngine,
        mailer: Mailer,
        human_verifier: Callable[[str], HumanVerifier],
        audit: AuditService | None = None,
    ) -> None:
        self._users = users
        self._verifications = verifications
        self._workflows = workflows
        self._mailer = mailer
        self._human_verifier = human_verifier
        self._audit = audit

    def register(
        self,
        tenant_id: TenantId,
        request: RegistrationRequest,
        *,
        settings: EffectiveSettings,
        node_id: NodeId = ROOT_NODE,
        origin: Origin = SYSTEM,
    ) -> None:
        """Create a pending account and send its verification link; answers the same for a taken email. Every
        attempt is an audit event: ``registration.created`` (in the account's transaction) or
        ``registration.failed`` with its reason."""
        registration = settings.section("registration")
        try:
            if not registration["enabled"]:
                raise RegistrationClosed()
            email, password, profile = self._validate(request, settings)
            self._check_human(str(registration["captcha"]), request)
        except (RegistrationClosed, InvalidInput, HumanVerificationFailed) as error:
            fields = ",".join(sorted(error.fields))[:200] if isinstance(error, InvalidInput) else ""
            reason = next(FAILURE_REASONS[k] for k in type(error).__mro__ if k in FAILURE_REASONS)
            self._note(tenant_id, "", "registration.failed", origin, node_id, reason=reason, fields=fields)
            raise
        # Hashed before the uniqueness check, so a taken address costs the same time as a new one.
        password_hash = hash_password(password)
        user, verification = self._pending(tenant_id, email, profile, node_id, "registration", settings)
        verification = replace(verification, resume=request.resume)
        event = None
        if self._audit is not None:
            details = {"kind": "registration", "method": "password"}
            event = self._audit.about_user(
                tenant_id, user.user_id, "registration.created", origin, node_id=node_id, details=details
            )
        try:
            self._verifications.create_pending_account(user, password_hash, verification, event)
        except AlreadyExists:
            owner = self._notify_existing(tenant_id, email, settings)
            self._note(tenant_id, owner, "registration.failed", origin, node_id, reason="email_taken")
            return
        self._start(verification, settings, RETRY_MESSAGE)

    def _note(
        self,
        tenant_id: TenantId,
        user_id: str,
        action: str,
        origin: Origin,
        node_id: NodeId,
        *,
        reason: str,
        fields: str = "",
    ) -> None:
        if self._audit is None:
            return
        details = {"reason": reason, **({"fields": fields} if fields else {})}
        outcome: AuditOutcome = "failure" if action.endswith(".failed") else "success"
        actor = WORKFLOW_ACTOR if action == "registration.discarded" else None
        self._audit.append_after(
            self._audit.about_user(
                tenant_id, user_id, action, origin, node_id=node_id, outcome=outcome, actor=actor, details=details
            )
        )

    def invite(
        self, tenant_id: TenantId, email: str, *, settings: EffectiveSettings, node_id: NodeId = ROOT_NODE
    ) -> User:
        """An administrator's invitation: a pending account without password and a set-password link.
        Raises AlreadyExists for a taken email (administrators may know that)."""
        user, verification = self._pending(tenant_id, check_email(email), {}, node_id, "invitation", settings)
        self._verifications.create_pending_account(user, None, verification)
        self._start(verification, settings, "The invitation could not be sent. Nothing was saved; try again.")
        return user

    def verification_for(self, user: User, kind: VerificationKind, settings: EffectiveSettings) -> Verification:
        """A new email verification of ``kind`` for an account that becomes pending now (see ``start_verification``)."""
        now = clock.now()
        waits = _waits(kind, settings)
        return Verification(
            tenant_id=user.tenant_id,
            verification_id=verification_id_for(kind, user.user_id),
            kind=kind,
            user_id=user.user_id,
            expires_at=now + waits[0] + waits[1],
            created_at=now,
        )

    def start_verification(self, verification: Verification, settings: EffectiveSettings) -> None:
        """Start the verification workflow for a stored pending account (removed again if it cannot start)."""
        self._start(verification, settings, RETRY_MESSAGE)

    def provision_pending(
        self,
        tenant_id: TenantId,
        email: str,
        *,
        password: str | None,
        profile: dict[str, Any],
        settings: EffectiveSettings,
        node_id: NodeId = ROOT_NODE,
    ) -> User:
        """A provisioned account whose address is not trusted: pending, with the verification email (or, without a
        password, the set-password invitation). Raises AlreadyExists for a taken email, InvalidInput for a weak
        password."""
        email = check_email(email)
        password_hash = None
        if password is not None:
            password_hash = hash_password(check_password(password, settings.section("password_policy"), email))
        kind: VerificationKind = "registration" if password_hash else "invitation"
        user, verification = self._pending(tenant_id, email, dict(profile), node_id, kind, settings)
        self._verifications.create_pending_account(user, password_hash, verification)
        self._start(verification, settings, "The verification email could not be sent. Nothing was saved; retry.")
        return user

    def _validate(self, request: RegistrationRequest, settings: EffectiveSettings) -> tuple[str, str, dict[str, Any]]:
        """(email, password, profile); InvalidInput naming every field that is wrong, all at once."""
        fields: dict[str, str] = {}
        messages: list[str] = []
        email = ""
        try:
            email = check_email(request.email)
        except InvalidInput as error:
            fields.update(error.fields)
            messages.append(error.public)
        schema = parse_schema(settings.get("attributes", "schema"))
        profile, attribute_errors = check_attributes(schema, request.attributes)
        fields.update(attribute_errors)
        if attribute_errors:
            messages.append("Check the highlighted fields.")
        password = ""
        try:
            inputs = [str(v) for v in profile.values() if isinstance(v, str)]
            policy = settings.section("password_policy")
            password = check_new_password(request.password, policy, email=email, user_inputs=inputs)
        except InvalidInput as error:
            fields.update(error.fields)
            messages.append(error.public)
        if fields:
            raise InvalidInput(" ".join(messages), fields=fields)
        return email, password, profile

    def _check_human(self, kind: str, request: RegistrationRequest) -> None:
        if kind == "none":
            return
        token = request.captcha_token or ""
        if not token or not self._human_verifier(kind).verify(token, remote_ip=request.remote_ip):
            raise HumanVerificationFailed(detail=f"{kind} rejected the token")

    def _pending(
        self,
        tenant_id: TenantId,
        email: str,
        profile: dict[str, Any],
        node_id: NodeId,
        kind: VerificationKind,
        settings: EffectiveSettings,
    ) -> tuple[User, Verification]:
        now = clock.now()
        phone = profile.pop("phone_number", None)
        user = User(
            tenant_id=tenant_id,
            user_id=new_user_id(),
            email=email,
            email_verified=False,
            status="pending",
            profile=profile,
            tier_node_id=node_id,
            created_at=now,
            updated_at=now,
            phone_number=phone if isinstance(phone, str) else None,
        )
        waits = _waits(kind, settings)
        verification = Verification(
            tenant_id=tenant_id,
            verification_id=verification_id_for(kind, user.user_id),
            kind=kind,
            user_id=user.user_id,
            expires_at=now + waits[0] + waits[1],
            created_at=now,
        )
        return user, verification

    def _start(self, verification: Verification, settings: EffectiveSettings, retry_message: str) -> None:
        """Start the workflow and wait for its first email; on failure remove the pending account again."""
        wait, reminder = _waits(verification.kind, settings)
        payload = {
            "tenant_id": verification.tenant_id,
            "user_id": verification.user_id,
            "verification_id": verification.verification_id,
            "kind": verification.kind,
            "wait_seconds": wait,
            "reminder_seconds": reminder,
        }
        try:
            self._workflows.start(WORKFLOW, name=execution_name(verification), payload=payload)
        except DependencyUnavailable as error:
            log.warning("workflow start failed, removing the pending account: %s", error.detail)
            deleted = self._verifications.delete_pending_account(
                verification.tenant_id, verification.user_id, verification.verification_id
            )
            if deleted and verification.kind == "registration":
                tenant_id, user_id = verification.tenant_id, verification.user_id
                self._note(
                    tenant_id, user_id, "registration.discarded", SYSTEM, ROOT_NODE, reason="workflow_unavailable"
                )
            raise DependencyUnavailable(retry_message, detail=error.detail) from error
        self._wait_until_sent(verification, retry_message)

    def _wait_until_sent(self, verification: Verification, retry_message: str) -> None:
        deadline = time.monotonic() + SEND_WAIT_SECONDS
        while True:
            current = self._verifications.get(verification.tenant_id, verification.verification_id)
            if current is None:  # the workflow could not send the email and removed the pending account
                raise DependencyUnavailable(retry_message, detail="verification email failed")
            if current.sent_at or current.consumed_at or time.monotonic() >= deadline:
                return  # sent, or still on its way: the workflow keeps retrying and cleans up if it gives up
            time.sleep(POLL_SECONDS)

    def _notify_existing(self, tenant_id: TenantId, email: str, settings: EffectiveSettings) -> str:
        """Tell an active owner; returns the owner's user id ("" if the account vanished meanwhile)."""
        user_id = self._users.find_user_id_by_email(tenant_id, email)
        user = self._users.get(tenant_id, user_id) if user_id else None
        if user is None:
            return ""
        if user.status == "active":
            self._mailer.send(
                "account_exists",
                tenant_id=tenant_id,
                node_id=user.tier_node_id,
                to=user.email,
                link=page_url(tenant_id, "password/forgot"),
            )
            return user.user_id
        # A pending account whose workflow never started (its clean-up failed too): start it now, idempotently.
        verification = self._verifications.get(tenant_id, verification_id_for("registration", user.user_id))
        if verification is not None and not verification.sent_at and not verification.task_token:
            if clock.now() - verification.created_at > ORPHAN_SECONDS:
                self._start(verification, settings, RETRY_MESSAGE)
        return user.user_id


def _waits(kind: VerificationKind, settings: EffectiveSettings) -> tuple[int, int]:
    """(first wait, wait after the reminder) in seconds: what the workflow's input carries."""
    registration = settings.section("registration")
    if kind == "invitation":
        return int(registration["invitation_seconds"]), int(registration["invitation_seconds"])
    return int(registration["verification_seconds"]), int(registration["reminder_seconds"])


def execution_name(verification: Verification) -> str:
    """Deterministic, so a retried start never creates a second execution (at most 80 characters)."""
    return f"{verification.tenant_id[:40]}-{verification.verification_id}"
