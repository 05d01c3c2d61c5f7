"""Task handlers of the email verification workflow (``infra/statemachines/email_verification.asl.json``).

Each takes the ids the execution carries (tenant, user, verification; never an email, link or token other than
the task token Step Functions hands in), makes one service call and returns a small dict. The two exception
classes below are the error names the definition's ``Catch`` routes on.
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.ids import TenantId, UserId
from chalicelib.services.verification import SendResult


class AccountAlreadyVerified(Exception):
    """The link was used before this step ran: the workflow goes straight to activation."""


class VerificationGone(Exception):
    """The pending account no longer exists: the workflow ends."""


def _text(event: dict[str, Any], name: str, limit: int = 128) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ValueError(f"event field {name!r} is missing or malformed")
    return value


def _send(event: dict[str, Any], *, reminder: bool) -> dict[str, Any]:
    seconds = event.get("link_seconds")
    if not isinstance(seconds, int) or seconds <= 0:
        raise ValueError("event field 'link_seconds' must be a positive integer")
    result = container.verification_flow().send_link(
        TenantId(_text(event, "tenant_id")),
        _text(event, "verification_id"),
        task_token=_text(event, "task_token", 8192),
        link_seconds=seconds,
        reminder=reminder,
    )
    if result is SendResult.ALREADY_VERIFIED:
        raise AccountAlreadyVerified("the link was used already")
    if result is SendResult.GONE:
        raise VerificationGone("the pending account no longer exists")
    return {"status": result.value}


def send_verification_email(event: dict[str, Any]) -> dict[str, Any]:
    """Send the first link and keep the task token with it; the execution then waits for the click."""
    return _send(event, reminder=False)


def send_verification_reminder(event: dict[str, Any]) -> dict[str, Any]:
    """After the first wait timed out: one reminder with a fresh link."""
    return _send(event, reminder=True)


def activate_account(event: dict[str, Any]) -> dict[str, Any]:
    activated = container.verification_flow().activate(
        TenantId(_text(event, "tenant_id")), _text(event, "verification_id")
    )
    return {"activated": activated}


def delete_pending_account(event: dict[str, Any]) -> dict[str, Any]:
    deleted = container.verification_flow().discard(
        TenantId(_text(event, "tenant_id")), UserId(_text(event, "user_id")), _text(event, "verification_id")
    )
    return {"deleted": deleted}
