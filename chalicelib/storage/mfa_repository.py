"""MFA enrollments (under the user's partition) and single-use challenges.

Every enrollment change writes the enrollment and the user's factor summary (``UserItem.mfa_factors``) in one
transaction, so sign-in can decide from the user item alone whether a second factor is needed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core.entities import ANY_USER, FactorUse, MfaChallenge, MfaEnrollment
from chalicelib.core.errors import CodeInvalid, NotFound, RateLimited
from chalicelib.core.ids import TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import is_condition_failure, translate_errors, update_or_raise, updated_if
from chalicelib.storage.models import MainItem, MfaChallengeItem, MfaEnrollmentItem, ThrottleItem, UserItem
from chalicelib.storage.users_repository import user_key

CHALLENGE = "CHALLENGE"

THROTTLE = "THROTTLE"


def _to_enrollment(item: MfaEnrollmentItem) -> MfaEnrollment:
    return MfaEnrollment(
        tenant_id=TenantId(item.tenant_id),
        user_id=UserId(item.user_id),
        enrollment_id=item.enrollment_id,
        kind=item.kind,
        label=item.label or "",
        status=item.status,  # type: ignore[arg-type]
        created_at=int(item.created_at),
        confirmed_at=int(item.confirmed_at or 0),
        last_used_at=int(item.last_used_at or 0),
        encrypted_secret=bytes(item.encrypted_secret) if item.encrypted_secret else None,
        target=item.target,
        last_step=int(item.last_step or 0),
        code_digests=tuple(sorted(item.code_digests or ())),
        public_key=bytes(item.public_key) if item.public_key else None,
        sign_count=int(item.sign_count or 0),
    )


def _enrollment_item(enrollment: MfaEnrollment) -> MfaEnrollmentItem:
    return MfaEnrollmentItem(
        keys.user(enrollment.tenant_id, enrollment.user_id),
        keys.mfa_enrollment_sk(enrollment.enrollment_id),
        tenant_id=enrollment.tenant_id,
        user_id=enrollment.user_id,
        enrollment_id=enrollment.enrollment_id,
        kind=enrollment.kind,
        label=enrollment.label,
        status=enrollment.status,
        created_at=enrollment.created_at,
        confirmed_at=enrollment.confirmed_at,
        last_used_at=enrollment.last_used_at,
        encrypted_secret=enrollment.encrypted_secret,
        target=enrollment.target,
        last_step=enrollment.last_step,
        code_digests=set(enrollment.code_digests) or None,
        public_key=enrollment.public_key,
        sign_count=enrollment.sign_count,
        # A pending enrollment that is never confirmed disappears by itself.
        ttl=None if enrollment.status == "active" else dt.datetime.fromtimestamp(enrollment.created_at + 86400, dt.UTC),
    )


def _to_challenge(item: MfaChallengeItem) -> MfaChallenge:
    return MfaChallenge(
        tenant_id=TenantId(item.tenant_id),
        challenge_id=item.challenge_id,
        user_id=UserId(item.user_id),
        purpose=item.purpose,  # type: ignore[arg-type]
        created_at=int(item.created_at),
        expires_at=int(item.expires_at),
        attempts=int(item.attempts or 0),
        consumed_at=int(item.consumed_at or 0),
        enrollment_id=item.enrollment_id,
        code_digest=item.code_digest,
        code_enrollment_id=item.code_enrollment_id,
        code_expires_at=int(item.code_expires_at or 0),
        code_sent_at=int(item.code_sent_at or 0),
        send_count=int(item.send_count or 0),
    )


def _user_item(tenant_id: TenantId, user_id: str) -> UserItem:
    return UserItem(*user_key(tenant_id, user_id))


class DynamoMfaRepository:
    @translate_errors
    def list_enrollments(self, tenant_id: TenantId, user_id: UserId) -> list[MfaEnrollment]:
        items = MfaEnrollmentItem.query(
            keys.user(tenant_id, user_id),
            MainItem.sk.startswith(keys.MFA_ENROLLMENT_PREFIX),
            consistent_read=True,
        )
        return [_to_enrollment(i) for i in items if isinstance(i, MfaEnrollmentItem)]

    @translate_errors
    def add_enrollment(self, enrollment: MfaEnrollment) -> None:
        _enrollment_item(enrollment).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def rename_enrollment(self, tenant_id: TenantId, user_id: UserId, enrollment_id: str, label: str) -> None:
        item = MfaEnrollmentItem(keys.user(tenant_id, user_id), keys.mfa_enrollment_sk(enrollment_id))
        update_or_raise(item, [MfaEnrollmentItem.label.set(label)], MainItem.sk.exists(), NotFound("Unknown factor."))

    @translate_errors
    def remove_enrollment(self, tenant_id: TenantId, user_id: UserId, enrollment: MfaEnrollment) -> None:
        item = MfaEnrollmentItem(keys.user(tenant_id, user_id), keys.mfa_enrollment_sk(enrollment.enrollment_id))
        try:
            with transaction() as tx:
                tx.delete(item, condition=MainItem.sk.exists())
                tx.update(
                    _user_item(tenant_id, user_id),
                    actions=[UserItem.mfa_factors.delete({enrollment.marker})],
                    condition=MainItem.pk.exists(),
                )
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise NotFound("Unknown factor.") from error
            raise

    @translate_errors
    def replace_recovery(self, enrollment: MfaEnrollment) -> None:
        with transaction() as tx:
            tx.save(_enrollment_item(enrollment))
            tx.update(
                _user_item(enrollment.tenant_id, enrollment.user_id),
                actions=[UserItem.mfa_factors.add({enrollment.marker})],
                condition=MainItem.pk.exists(),
            )

    @translate_errors
    def create_challenge(self, challenge: MfaChallenge) -> None:
        MfaChallengeItem(
            keys.mfa_challenge(challenge.tenant_id, challenge.challenge_id),
            CHALLENGE,
            # Indexed by user so that erasing an account finds its open challenges (account deletion).
            gsi1pk=keys.user_mfa_challenges_index(challenge.tenant_id, challenge.user_id),
            gsi1sk=f"{challenge.expires_at:012d}",
            ttl=dt.datetime.fromtimestamp(challenge.expires_at + 3600, dt.UTC),
            tenant_id=challenge.tenant_id,
            challenge_id=challenge.challenge_id,
            user_id=challenge.user_id,
            purpose=challenge.purpose,
            created_at=challenge.created_at,
            expires_at=challenge.expires_at,
            enrollment_id=challenge.enrollment_id,
            code_digest=challenge.code_digest,
            code_enrollment_id=challenge.code_enrollment_id,
            code_expires_at=challenge.code_expires_at,
        ).save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def get_challenge_with_throttle(
        self, tenant_id: TenantId, challenge_id: str, throttle_subject: str
    ) -> tuple[MfaChallenge | None, dict[str, int]]:
        challenge_key = keys.mfa_challenge(tenant_id, challenge_id)
        challenge: MfaChallenge | None = None
        throttle: dict[str, int] = {}
        wanted = [(challenge_key, CHALLENGE), (keys.throttle(tenant_id, throttle_subject), THROTTLE)]
        for item in MainItem.batch_get(wanted, consistent_read=True):
            if isinstance(item, MfaChallengeItem):
                challenge = _to_challenge(item)
            elif isinstance(item, ThrottleItem):
                throttle = {"failures": int(item.failures or 0), "blocked_until": int(item.blocked_until or 0)}
        return challenge, throttle

    @translate_errors
    def record_wrong_answer(self, tenant_id: TenantId, challenge_id: str, *, max_attempts: int) -> int:
        item = MfaChallengeItem(keys.mfa_challenge(tenant_id, challenge_id), CHALLENGE)
        counted = updated_if(
            item, [MfaChallengeItem.attempts.add(1)], MainItem.pk.exists() & (MfaChallengeItem.attempts < max_attempts)
        )
        return int(item.attempts or 0) if counted else max_attempts

    @translate_errors
    def set_code(
        self,
        tenant_id: TenantId,
        challenge_id: str,
        *,
        code_digest: str,
        enrollment_id: str,
        code_expires_at: int,
        now: int,
        cooldown: int,
        max_sends: int,
    ) -> None:
        item = MfaChallengeItem(keys.mfa_challenge(tenant_id, challenge_id), CHALLENGE)
        usable = MainItem.pk.exists() & (MfaChallengeItem.consumed_at == 0) & (MfaChallengeItem.expires_at > now)
        try:
            item.update(
                actions=[
                    MfaChallengeItem.code_digest.set(code_digest),
                    MfaChallengeItem.code_enrollment_id.set(enrollment_id),
                    MfaChallengeItem.code_expires_at.set(code_expires_at),
                    MfaChallengeItem.code_sent_at.set(now),
                    MfaChallengeItem.send_count.add(1),
                ],
                condition=usable
                & (MfaChallengeItem.code_sent_at <= now - cooldown)
                & (MfaChallengeItem.send_count < max_sends),
            )
        except UpdateError as error:
            if not is_condition_failure(error):
                raise
            try:
                current = _to_challenge(MfaChallengeItem.get(item.pk, CHALLENGE, consistent_read=True))
            except DoesNotExist as missing:
                raise CodeInvalid(detail="challenge gone") from missing
            if current.consumed_at or current.expires_at <= now:
                raise CodeInvalid(detail="challenge used or expired") from error
            raise RateLimited(retry_after=max(1, current.code_sent_at + cooldown - now), detail="resend") from error

    @translate_errors
    def complete_challenge(
        self, tenant_id: TenantId, user_id: UserId, challenge_id: str, use: FactorUse, *, now: int, max_attempts: int
    ) -> None:
        challenge = MfaChallengeItem(keys.mfa_challenge(tenant_id, challenge_id), CHALLENGE)
        try:
            with transaction() as tx:
                tx.update(
                    challenge,
                    actions=[MfaChallengeItem.consumed_at.set(now)],
                    # ANY_USER: a passwordless challenge, issued before anyone said who they are.
                    condition=MainItem.pk.exists()
                    & ((MfaChallengeItem.user_id == user_id) | (MfaChallengeItem.user_id == ANY_USER))
                    & (MfaChallengeItem.consumed_at == 0)
                    & (MfaChallengeItem.attempts < max_attempts)
                    & (MfaChallengeItem.expires_at > now),
                )
                _apply_use(tx, tenant_id, user_id, use, now)
        except TransactWriteError as error:
            if is_condition_failure(error):
                raise CodeInvalid(detail="challenge used, locked or expired, or factor replayed") from error
            raise


def _apply_use(tx: TransactWrite, tenant_id: TenantId, user_id: UserId, use: FactorUse, now: int) -> None:
    enrollment = MfaEnrollmentItem(keys.user(tenant_id, user_id), keys.mfa_enrollment_sk(use.enrollment_id))
    actions: list[Any] = [MfaEnrollmentItem.last_used_at.set(now)]
    condition: Any = MainItem.sk.exists()
    if use.totp_step is not None:
        # RFC 6238 §5.2: a time step is accepted once; the conditional write makes that hold under races.
        actions.append(MfaEnrollmentItem.last_step.set(use.totp_step))
        condition = condition & (MfaEnrollmentItem.last_step < use.totp_step)
    if use.sign_count is not None:
        actions.append(MfaEnrollmentItem.sign_count.set(use.sign_count))
    if use.credential is not None:
        actions += [
            MfaEnrollmentItem.target.set(use.credential[0]),
            MfaEnrollmentItem.public_key.set(use.credential[1]),
        ]
    if use.recovery_digest is not None:
        actions.append(MfaEnrollmentItem.code_digests.delete({use.recovery_digest}))
        condition = condition & MfaEnrollmentItem.code_digests.contains(use.recovery_digest)
    if use.activate:
        actions += [
            MfaEnrollmentItem.status.set("active"),
            MfaEnrollmentItem.confirmed_at.set(now),
            MfaEnrollmentItem.ttl.remove(),
        ]
        condition = condition & (MfaEnrollmentItem.status == "pending")
    else:
        condition = condition & (MfaEnrollmentItem.status == "active")
    tx.update(enrollment, actions=actions, condition=condition)
    if use.activate:
        markers = {f"{use.kind}:{use.enrollment_id}"}
        if use.recovery is not None:
            tx.save(_enrollment_item(use.recovery))
            markers.add(use.recovery.marker)
        tx.update(
            _user_item(tenant_id, user_id), actions=[UserItem.mfa_factors.add(markers)], condition=MainItem.pk.exists()
        )
