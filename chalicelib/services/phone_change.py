"""Changing the account's phone number (the ``phone_number`` claim): a six-digit code by SMS to the new number
(through the MFA issue's SMS sender); the number changes, verified, only when the code comes back.

Codes are single use, expire after ten minutes, allow five attempts, and only their digest (bound to the user
and the number) is stored; a new request replaces the previous code, at most one per RESEND_SECONDS.
"""

from __future__ import annotations

import secrets

from chalicelib.core import clock
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import User
from chalicelib.core.errors import CodeInvalid, InvalidInput, RateLimited
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import AccountDataRepository, SmsSender

CODE_SECONDS = 600
RESEND_SECONDS = 30
MAX_ATTEMPTS = 5


def _digest(user: User, phone_number: str, code: str) -> str:
    return secret_digest(f"{user.tenant_id}:{user.user_id}:{phone_number}:{code}")


class PhoneChangeService:
    def __init__(self, data: AccountDataRepository, sms: SmsSender) -> None:
        self._data = data
        self._sms = sms

    def request(self, tenant_id: TenantId, user: User, raw_number: str, *, brand: str) -> str:
        """Send a code to the new number; returns the number (E.164)."""
        from chalicelib.services.mfa.phones import to_e164

        number = to_e164(raw_number)
        if number == user.phone_number and user.phone_number_verified:
            raise InvalidInput("This is already your phone number.", fields={"phone_number": "unchanged"})
        now = clock.now()
        pending = self._data.get_phone_change(tenant_id, user.user_id)
        if pending is not None and now - int(pending["sent_at"]) < RESEND_SECONDS:
            raise RateLimited("Wait a moment before asking for another code.", retry_after=RESEND_SECONDS)
        code = f"{secrets.randbelow(10**6):06d}"
        self._data.save_phone_change(
            tenant_id,
            user.user_id,
            phone_number=number,
            code_digest=_digest(user, number, code),
            expires_at=now + CODE_SECONDS,
            now=now,
        )
        self._sms.send(to=number, text=f"{code} is your {brand} code to confirm this phone number.")
        return number

    def pending(self, tenant_id: TenantId, user: User) -> bool:
        """Whether a code was sent and can still be confirmed."""
        change = self._data.get_phone_change(tenant_id, user.user_id)
        return change is not None and int(change["expires_at"]) > clock.now()

    def confirm(self, tenant_id: TenantId, user: User, code: str) -> str:
        """Check the code (counted, constant time) and set the number as verified; returns it."""
        pending = self._data.get_phone_change(tenant_id, user.user_id)
        if pending is None or int(pending["expires_at"]) <= clock.now():
            raise CodeInvalid("This code is invalid or has expired.", detail="no pending phone change")
        if not self._data.count_phone_attempt(tenant_id, user.user_id, max_attempts=MAX_ATTEMPTS):
            raise CodeInvalid("Too many wrong codes. Ask for a new one.", detail="phone change attempts exhausted")
        number = str(pending["phone_number"])
        presented = (code or "").strip()
        if not (presented.isdigit() and len(presented) == 6) or not constant_time_equals(
            str(pending["code_digest"]), _digest(user, number, presented)
        ):
            raise CodeInvalid("This code is invalid or has expired.", detail="wrong phone change code")
        self._data.apply_phone_change(tenant_id, user.user_id, phone_number=number, now=clock.now())
        return number
