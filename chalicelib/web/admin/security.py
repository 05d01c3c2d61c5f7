"""Admin API for account security: ``POST /t/{tenant}/admin/users/{id}/lock`` (``{"seconds": N}``, default a
day, at most a year) refuses every sign-in to the account and signs it out everywhere; ``/unlock`` lifts the lock
and any credential-stuffing or brute-force block on it. Both are audited and published as security alerts.

A lock is the same block the fraud response uses (on the account's throttle subject, which every password
sign-in reads already), so enforcing it costs no extra request and the hosted page says only "too many attempts".
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.errors import InvalidInput
from chalicelib.web.admin.access import NO_STORE, AdminAccess
from chalicelib.web.audit import audited
from chalicelib.web.http import HttpRequest, HttpResponse, json_response

SECURITY_ACTIONS = {"lock": "admin.user.lock", "unlock": "admin.user.unlock"}
DEFAULT_LOCK_SECONDS = 86400
MAX_LOCK_SECONDS = 366 * 86400


def _seconds(request: HttpRequest) -> int:
    if not request.body:
        return DEFAULT_LOCK_SECONDS
    body = request.json()
    seconds = body.get("seconds", DEFAULT_LOCK_SECONDS) if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 60 <= seconds <= MAX_LOCK_SECONDS:
        raise InvalidInput(f"seconds must be 60-{MAX_LOCK_SECONDS}.", fields={"seconds": "invalid"})
    return seconds


def security_action(request: HttpRequest, access: AdminAccess, user_id: str, action: str) -> HttpResponse:
    tree, actor, reach = access.tree, access.actor, access.reach
    user = container.user_admin().get(tree.tenant_id, reach, user_id)
    risk = container.risk()
    with audited(actor, SECURITY_ACTIONS[action], user.user_id, user.tier_node_id) as note:
        body: dict[str, Any]
        if action == "lock":
            seconds = _seconds(request)
            until = risk.lock(tree.tenant_id, user.email, seconds)
            revoked = container.user_admin().revoke_sessions(tree.tenant_id, reach, user.user_id)
            note.details = {"locked_until": until, **revoked}
            body = {"id": user.user_id, "locked_until": until, "revoked": revoked}
        else:
            risk.unlock(tree.tenant_id, user.email)
            body = {"id": user.user_id, "locked_until": 0}
    risk.alert(tree.tenant_id, f"account_{action}ed", {"user_id": user.user_id, "by": actor.subject})
    return json_response(body, 200, NO_STORE)
