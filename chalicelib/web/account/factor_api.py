"""Enrolling and renaming second factors through the account API (mobile apps), with the portal's rules: the
same MFA service, the same per-IP enrollment limit, and a token from a sign-in with the second factor whenever
the user already has one (``views.require_second_factor``).

| method and path | what |
|---|---|
| POST ``/account/mfa/totp`` ``{"label"?}`` | start: ``secret``, ``otpauth_uri``, ``qr_svg``, ``challenge_id`` (201) |
| POST ``/account/mfa/email_otp`` | start: a code goes to the account's email address (202) |
| POST ``/account/mfa/sms_otp`` ``{"phone_number"}`` | start: a code goes to that number (E.164, 202) |
| POST ``/account/mfa/{kind}/verify`` ``{"challenge_id", "code", "label"?}`` | confirm with the first code (201;
  ``recovery_codes`` when it is the user's first factor) |
| POST ``/account/mfa/{email_otp,sms_otp}/resend`` ``{"id", "challenge_id"}`` | a new code (cooldown applies) |
| PATCH ``/account/mfa/{id}`` ``{"label"}`` | rename a factor |
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import User
from chalicelib.core.errors import ChallengeClosed, CodeInvalid, InvalidInput, NotFound
from chalicelib.core.ids import TenantId
from chalicelib.services.mfa.phones import to_e164
from chalicelib.services.mfa.service import CHALLENGE_SECONDS, MAX_LABEL, enrollable_kinds
from chalicelib.web.account import views
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import NO_STORE
from chalicelib.web.http import HttpRequest, HttpResponse, json_response

KINDS = frozenset({"totp", "email_otp", "sms_otp"})
MAX_CODE = 64


def handles(method: str, item: str) -> bool:
    """Requests this module answers (``item`` is a factor kind, or a factor id for PATCH)."""
    return item in KINDS or (method == "PATCH" and bool(item))


def factor_request(
    http: HttpRequest, tenant_id: TenantId, user: User, amr: tuple[str, ...], item: str, sub: str
) -> HttpResponse:
    views.require_second_factor(tenant_id, user, amr)
    data = _body(http)
    if http.method == "PATCH" and not sub:
        label = _label(data, required=True)
        container.mfa().rename(tenant_id, user, item, label)
        return _ok({"status": "renamed", "id": item, "label": label})
    if http.method != "POST":
        return _ok({"error": "invalid_request", "error_description": "Method not allowed here."}, 405)
    settings = views.settings_for(tenant_id, user)
    if item not in enrollable_kinds(settings):
        raise InvalidInput("This method is not available.", fields={"kind": "invalid"})
    if not sub:
        container.request_limiter().count(tenant_id, "mfa_enroll", http.source_ip)
        return _start(tenant_id, user, item, data)
    if sub == "verify":
        return _verify(http, tenant_id, user, item, data)
    if sub == "resend" and item != "totp":
        pending = container.mfa().pending_enrollment(tenant_id, user, _text(data, "id", 64))
        container.mfa().send_code(
            tenant_id, _text(data, "challenge_id", 64), pending, settings, service_name=_service_name(tenant_id)
        )
        return _ok({"status": "code_sent", "target": pending.label}, 202)
    raise NotFound("Unknown resource.")


def _start(tenant_id: TenantId, user: User, kind: str, data: dict[str, Any]) -> HttpResponse:
    mfa, settings = container.mfa(), views.settings_for(tenant_id, user)
    if kind == "totp":
        import segno

        setup = mfa.begin_totp(tenant_id, user, issuer=_service_name(tenant_id), label=_label(data))
        qr_svg = segno.make(setup.uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title="QR code")
        body = {
            "id": setup.enrollment.enrollment_id,
            "kind": kind,
            "challenge_id": setup.challenge.challenge_id,
            "secret": setup.secret,
            "otpauth_uri": setup.uri,
            "qr_svg": qr_svg,
            "expires_in": CHALLENGE_SECONDS,
        }
        return _ok(body, 201)
    target = to_e164(_text(data, "phone_number", 64)) if kind == "sms_otp" else user.email
    enrollment, challenge = mfa.begin_delivery(
        tenant_id, user, kind, target, settings, service_name=_service_name(tenant_id)
    )
    body = {
        "id": enrollment.enrollment_id,
        "kind": kind,
        "challenge_id": challenge.challenge_id,
        "target": enrollment.label,
        "status": "code_sent",
        "expires_in": CHALLENGE_SECONDS,
    }
    return _ok(body, 202)


def _verify(http: HttpRequest, tenant_id: TenantId, user: User, kind: str, data: dict[str, Any]) -> HttpResponse:
    label = _label(data)
    mfa, settings = container.mfa(), views.settings_for(tenant_id, user)
    try:
        verified = mfa.verify(
            tenant_id,
            user,
            _text(data, "challenge_id", 64),
            kind,
            _text(data, "code", MAX_CODE),
            settings,
            origin=origin_of(http),
        )
    except ChallengeClosed:
        raise
    except CodeInvalid as error:
        raise InvalidInput("The code is not valid. Check it and try again.", fields={"code": "invalid"}) from error
    enrollment = verified.enrollment
    if label and label != enrollment.label:
        mfa.rename(tenant_id, user, enrollment.enrollment_id, label)
    views.record(http, tenant_id, user, "account.mfa_added", kind=kind)
    body: dict[str, Any] = {
        "status": "enrolled",
        "id": enrollment.enrollment_id,
        "kind": kind,
        "label": label or enrollment.label,
    }
    if verified.recovery_codes:
        body["recovery_codes"] = list(verified.recovery_codes)
    return _ok(body, 201)


def _service_name(tenant_id: TenantId) -> str:
    from chalicelib.web.oidc.pages import branding_for

    return branding_for(tenant_id)["display_name"]


def _body(http: HttpRequest) -> dict[str, Any]:
    if not http.body:
        return {}
    data = http.json()
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"'{name}' is required and must be a string.", fields={name: "required"})
    if len(value) > limit:
        raise InvalidInput(f"'{name}' is too long.", fields={name: "too_long"})
    return value


def _label(data: dict[str, Any], *, required: bool = False) -> str:
    value = data.get("label")
    if value is None and not required:
        return ""
    label = " ".join(value.split()) if isinstance(value, str) else ""
    if not label or len(label) > MAX_LABEL:
        raise InvalidInput(f"'label' must be 1 to {MAX_LABEL} characters.", fields={"label": "invalid"})
    return label


def _ok(body: Any, status: int = 200) -> HttpResponse:
    return json_response(body, status, dict(NO_STORE))
