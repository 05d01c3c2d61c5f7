"""What the portal pages and the account API both show and do: one function per capability, taking the signed-in
user and returning plain JSON-ready values (pages render them, the API returns them)."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import AuditEvent, AuditOutcome, User
from chalicelib.core.errors import CodeInvalid, InvalidInput, NotFound, RateLimited, ReauthenticationRequired
from chalicelib.core.ids import ClientId, TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.account_profile import profile_view
from chalicelib.services.activity import ACTIVITY_DAYS
from chalicelib.services.consent_receipts import consent_view
from chalicelib.services.data_export import export_view
from chalicelib.services.devices import describe_user_agent
from chalicelib.services.mfa.service import usable_kinds
from chalicelib.services.step_up import has_second_factor
from chalicelib.services.tokens import issuer_url
from chalicelib.web.audit import origin_of
from chalicelib.web.http import HttpRequest


def settings_for(tenant_id: TenantId, user: User) -> EffectiveSettings:
    return container.tenants().effective(tenant_id, user.tier_node_id)


def record(
    http: HttpRequest,
    tenant_id: TenantId,
    user: User,
    action: str,
    *,
    outcome: AuditOutcome = "success",
    **details: str | int | bool,
) -> None:
    """An audit event about the user's own change (shown in their activity, pseudonymized at erasure)."""
    audit = container.audit()
    audit.append(
        audit.user_event(
            tenant_id,
            user.user_id,
            action,
            node_id=user.tier_node_id,
            source_ip=http.source_ip,
            user_agent=http.user_agent,
            outcome=outcome,
            details=details,
        )
    )


def profile(tenant_id: TenantId, user: User) -> dict[str, Any]:
    settings = settings_for(tenant_id, user)
    view = profile_view(user, settings)
    if user.deletion_scheduled_at:
        view["deletion_due_at"] = user.deletion_scheduled_at + int(settings.get("privacy", "deletion_grace_seconds"))
    return view


def update_profile(
    http: HttpRequest, tenant_id: TenantId, user: User, submitted: dict[str, object], *, partial: bool
) -> dict[str, Any]:
    settings = settings_for(tenant_id, user)
    container.account_profile().update_profile(user, submitted, settings=settings, partial=partial)
    record(http, tenant_id, user, "account.profile_updated", fields=",".join(sorted(submitted))[:200])
    return profile(tenant_id, container.accounts().get(tenant_id, user.user_id))


def request_email_change(http: HttpRequest, tenant_id: TenantId, user: User, new_email: str) -> None:
    container.request_limiter().count(tenant_id, "email_change", http.source_ip)
    settings = settings_for(tenant_id, user)
    container.recovery().request_email_change(tenant_id, user, new_email, settings=settings, origin=origin_of(http))


def change_password(
    http: HttpRequest, tenant_id: TenantId, user: User, *, current: str, new: str, keep_session: str
) -> int:
    """Change the password and sign every other device out; returns how many sessions/grants ended."""
    try:
        container.account_profile().change_password(
            tenant_id, user, current=current, new=new, ip=http.source_ip, settings=settings_for(tenant_id, user)
        )
    except (InvalidInput, RateLimited) as error:
        fields = ",".join(sorted(error.fields)) if isinstance(error, InvalidInput) else ""
        reason = "rate_limited" if isinstance(error, RateLimited) else "invalid_input"
        record(http, tenant_id, user, "account.password_change_failed", outcome="failure", reason=reason, fields=fields)
        raise
    ended = 0
    devices = container.devices()
    overview = devices.overview(tenant_id, user.user_id)
    for session in overview.sessions:
        if session["id"] != keep_session:
            ended += 1 + devices.revoke_session(tenant_id, user.user_id, str(session["id"]))
    for token in devices.overview(tenant_id, user.user_id).tokens:
        if token["session_id"] != keep_session:
            devices.revoke_grant(tenant_id, user.user_id, str(token["id"]))
            ended += 1
    record(http, tenant_id, user, "account.password_changed", count=ended)
    return ended


def devices(tenant_id: TenantId, user: User, current_session: str = "") -> dict[str, Any]:
    overview = container.devices().overview(tenant_id, user.user_id, current_session=current_session)
    return {"sessions": overview.sessions, "tokens": overview.tokens}


def revoke_session(http: HttpRequest, tenant_id: TenantId, user: User, session_id: str) -> None:
    count = container.devices().revoke_session(tenant_id, user.user_id, session_id)
    record(http, tenant_id, user, "account.session_revoked", count=count)


def revoke_token(http: HttpRequest, tenant_id: TenantId, user: User, grant_id: str) -> None:
    container.devices().revoke_grant(tenant_id, user.user_id, grant_id)
    record(http, tenant_id, user, "account.token_revoked")


def sign_out_everywhere(http: HttpRequest, tenant_id: TenantId, user: User) -> dict[str, int]:
    sessions, grants = container.devices().revoke_all(tenant_id, user.user_id)
    record(http, tenant_id, user, "account.signed_out_everywhere", count=sessions + grants)
    return {"sessions": sessions, "grants": grants}


def _activity_row(event: AuditEvent) -> dict[str, Any]:
    details = event.details
    return {
        "id": event.event_id,
        "event": event.action,
        "outcome": event.outcome,
        "at": event.occurred_at,
        "ip": event.source_ip,
        **describe_user_agent(event.user_agent),
        "location": details.get("location", ""),
        "client_id": details.get("client_id", ""),
        "reason": details.get("reason", ""),
        "new_device": bool(details.get("new_device", False)),
    }


def activity(tenant_id: TenantId, user: User, *, sign_ins_only: bool = False) -> dict[str, Any]:
    events = container.sign_in_activity().list(tenant_id, user.user_id)
    if sign_ins_only:
        events = [e for e in events if e.action.startswith("signin.")]
    return {"days": ACTIVITY_DAYS, "events": [_activity_row(e) for e in events]}


def consents(tenant_id: TenantId, user: User) -> dict[str, Any]:
    receipts = container.consent_receipts().list(tenant_id, user.user_id)
    rows = []
    for consent in container.consent().list(tenant_id, user.user_id):
        client = container.clients().get(tenant_id, consent.client_id)
        rows.append(consent_view(consent, client.name if client else consent.client_id, receipts))
    return {
        "consents": rows,
        "receipts": [
            {"id": r.receipt_id, "client_id": r.client_id, "action": r.action, "created_at": r.created_at}
            for r in reversed(receipts)
        ],
    }


def revoke_consent(http: HttpRequest, tenant_id: TenantId, user: User, client_id: str) -> int:
    """Withdraw the consent (a receipt is issued) and revoke every token the client holds for the user."""
    client = container.clients().get(tenant_id, client_id)
    existing = [c for c in container.consent().list(tenant_id, user.user_id) if c.client_id == client_id]
    if client is None or not existing:
        raise NotFound("Unknown application.")
    container.consent().revoke(tenant_id, client, user.user_id)
    revoked = container.devices().revoke_client(tenant_id, user.user_id, ClientId(client_id))
    record(http, tenant_id, user, "consent.revoked", client_id=client_id, count=revoked)
    return revoked


def receipt(tenant_id: TenantId, user: User, receipt_id: str) -> dict[str, Any]:
    return container.consent_receipts().get(tenant_id, user.user_id, receipt_id).document


def exports(tenant_id: TenantId, user: User) -> dict[str, Any]:
    return {"exports": [export_view(e) for e in container.data_exports().list(tenant_id, user.user_id)]}


def request_export(http: HttpRequest, tenant_id: TenantId, user: User) -> dict[str, Any]:
    export = container.data_exports().request(tenant_id, user)
    record(http, tenant_id, user, "account.export_requested")
    return export_view(export)


def download_export(tenant_id: TenantId, user: User, export_id: str, token: str) -> bytes:
    return container.data_exports().download(tenant_id, user.user_id, export_id, token)


def deletion(tenant_id: TenantId, user: User) -> dict[str, Any]:
    settings = settings_for(tenant_id, user)
    grace = int(settings.get("privacy", "deletion_grace_seconds"))
    scheduled = user.deletion_scheduled_at
    return {
        "scheduled": bool(scheduled),
        "due_at": scheduled + grace if scheduled else None,
        "grace_seconds": grace,
        "confirm_with": "password" if container.linked_identities().has_password(tenant_id, user) else "sign_in",
    }


def request_deletion(
    http: HttpRequest, tenant_id: TenantId, user: User, password: str, *, session_id: str
) -> dict[str, Any]:
    """Confirmed by the password; an account without one by a recent sign-in of the session behind the request
    (ReauthenticationRequired otherwise: the portal sends the user through a fresh sign-in)."""
    from chalicelib.web.account.linking import recently_authenticated

    has_password = container.linked_identities().has_password(tenant_id, user)
    due = container.account_deletion().request(
        tenant_id,
        user,
        password=password if has_password else None,
        ip=http.source_ip,
        settings=settings_for(tenant_id, user),
        reauthenticated=not has_password and recently_authenticated(tenant_id, user, session_id),
    )
    record(http, tenant_id, user, "account.deletion_requested")
    return {"scheduled": True, "due_at": due}


# --- two-step verification (the MFA issue's factors, managed by the user) ----------------------------------------


def mfa(tenant_id: TenantId, user: User) -> dict[str, Any]:
    """The user's active factors (secrets never leave the MFA service) and where to add or change them."""
    enrollments = container.mfa().enrollments(tenant_id, user)
    return {
        "factors": [
            {
                "id": e.enrollment_id,
                "kind": e.kind,
                "label": e.label,
                "created_at": e.confirmed_at or e.created_at,
                "last_used_at": e.last_used_at or None,
                **({"codes_left": len(e.code_digests)} if e.kind == "recovery_code" else {}),
            }
            for e in enrollments
        ],
        "devices_forgotten_at": user.devices_forgotten_at or None,
        "manage_url": f"{issuer_url(tenant_id)}/mfa/factors",
    }


def _require_second_factor(tenant_id: TenantId, user: User, amr: tuple[str, ...]) -> None:
    """A password alone must never be enough to weaken a second factor (the MFA pages apply the same rule)."""
    if usable_kinds(user, settings_for(tenant_id, user)) and not has_second_factor(amr):
        raise ReauthenticationRequired(
            "Sign in with your second factor to change it.", detail="factor change without mfa in amr"
        )


require_second_factor = _require_second_factor


def remove_factor(http: HttpRequest, tenant_id: TenantId, user: User, enrollment_id: str, amr: tuple[str, ...]) -> None:
    _require_second_factor(tenant_id, user, amr)
    container.mfa().remove(tenant_id, user, enrollment_id, origin=origin_of(http))


def regenerate_recovery_codes(http: HttpRequest, tenant_id: TenantId, user: User, amr: tuple[str, ...]) -> list[str]:
    _require_second_factor(tenant_id, user, amr)
    codes = container.mfa().regenerate_recovery_codes(tenant_id, user, origin=origin_of(http))
    return codes


def forget_devices(http: HttpRequest, tenant_id: TenantId, user: User) -> None:
    """Every "remember this device" cookie issued so far stops skipping the second factor."""
    container.account_profile().forget_devices(user)
    record(http, tenant_id, user, "account.devices_forgotten")


# --- linked identities (federation) --------------------------------------------------------------------------


def identities(tenant_id: TenantId, user: User) -> dict[str, Any]:
    return {"identities": container.linked_identities().list(tenant_id, user)}


def unlink_identity(http: HttpRequest, tenant_id: TenantId, user: User, integration: str) -> None:
    container.linked_identities().unlink(tenant_id, user, integration)
    record(http, tenant_id, user, "account.identity_unlinked", integration=integration[:64])


# --- phone number (SMS verification) -------------------------------------------------------------------------


def request_phone_change(http: HttpRequest, tenant_id: TenantId, user: User, phone_number: str) -> dict[str, Any]:
    container.request_limiter().count(tenant_id, "phone_change", http.source_ip)
    brand = container.tenants().tree(tenant_id).root.name
    number = container.phone_change().request(tenant_id, user, phone_number, brand=brand)
    record(http, tenant_id, user, "account.phone_change_requested")
    return {"status": "code_sent", "phone_number": number}


def confirm_phone_change(http: HttpRequest, tenant_id: TenantId, user: User, code: str) -> dict[str, Any]:
    try:
        number = container.phone_change().confirm(tenant_id, user, code)
    except CodeInvalid:
        record(http, tenant_id, user, "account.phone_change_failed", outcome="failure", reason="invalid_code")
        raise
    record(http, tenant_id, user, "account.phone_changed")
    return {"status": "phone_changed", "phone_number": number}
