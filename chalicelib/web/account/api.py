"""The account API: ``/t/{tenant}/account/...`` with the user's bearer access token (mobile and web apps).

Tokens must come from one of the tenant's first-party applications: a third-party client the user merely
consented to can read the user's claims at userinfo, but never manage the account. Errors are
``{"error", "error_description", "fields"?}`` (``account_endpoint``).

| method and path | what |
|---|---|
| GET ``/account``, GET ``/account/profile`` | profile and the editable attributes (with the tenant's schema) |
| PATCH ``/account/profile`` ``{"attributes": {...}}`` | change attributes (``null`` clears one) |
| POST ``/account/email`` ``{"new_email"}`` | email change: a link goes to the new address (202) |
| POST ``/account/password`` ``{"current_password", "new_password"}`` | change the password; other devices signed out |
| GET ``/account/sessions`` | browser sessions and refresh-token families |
| DELETE ``/account/sessions`` | sign out everywhere |
| DELETE ``/account/sessions/{id}``, DELETE ``/account/tokens/{id}`` | end one session / one token family |
| GET ``/account/activity`` | sign-in activity and account changes of the last 90 days |
| GET ``/account/consents`` | applications granted access, their scopes, receipts |
| DELETE ``/account/consents/{client_id}`` | withdraw consent; the client's tokens stop working |
| GET ``/account/consents/receipts/{id}`` | a Kantara consent receipt (JSON) |
| GET/POST ``/account/exports``, GET ``/account/exports/{id}?token=`` | data exports: list, request, download |
| GET/POST ``/account/deletion`` ``{"password"}`` | account deletion: status, request |
| GET ``/account/mfa`` | second factors (kind, label, last use), recovery codes left, where to add one |
| DELETE ``/account/mfa/{id}``, POST ``/account/mfa/recovery-codes`` | remove a factor / new recovery codes (the token
  must carry ``mfa`` in ``amr`` when the user has a factor) |
| DELETE ``/account/mfa/remembered-devices`` | forget every remembered device |
| POST ``/account/mfa/{totp,email_otp,sms_otp}``, POST ``.../{kind}/verify``, PATCH ``/account/mfa/{id}`` | enroll
  a factor (start, then confirm with its first code) and rename one (``web.account.factor_api``) |
| POST ``/account/phone`` ``{"phone_number"}``, POST ``/account/phone/verify`` ``{"code"}`` | phone change: SMS
  code to the new number, then the verified number is set |
| GET ``/account/identities``, DELETE ``/account/identities/{integration}`` | ways in (password, linked identity
  providers); unlink one (409 when it is the last way in) |
| POST ``/account/identities`` ``{"idp"}`` | link another identity provider: a one-time ``link_url`` (valid
  ``expires_in`` seconds) to open in a browser; needs a recent sign-in (403 otherwise), ends on "linked, return to
  the app" |
"""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.entities import User
from chalicelib.core.errors import Forbidden, InvalidInput, NotFound, TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.web.account import factor_api, linking, views
from chalicelib.web.errors import NO_STORE, account_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response, single
from chalicelib.web.oidc.resources import bearer_token

MAX_FIELD = 1024
ITEMLESS = {"": None, "profile": None, "email": None, "password": None, "activity": None, "deletion": None}


def authenticate(http: HttpRequest, tenant: str) -> tuple[TenantId, User, dict[str, Any]]:
    tenant_id = container.tenants().tree(tenant).tenant_id
    claims, user = container.authorization().validate_access_token(tenant_id, bearer_token(http), need_user=True)
    if user is None:
        raise TokenInvalid(detail="no user behind the token")
    client = container.clients().get(tenant_id, str(claims.get("client_id", "")))
    if client is None or not client.first_party:
        raise Forbidden("The account API accepts tokens of the service's own applications only.")
    return tenant_id, user, claims


def _body(http: HttpRequest) -> dict[str, Any]:
    data = http.json()
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"'{name}' is required and must be a string.", fields={name: "required"})
    if len(value) > MAX_FIELD:
        raise InvalidInput(f"'{name}' is too long.", fields={name: "too_long"})
    return value


def _ok(body: Any, status: int = 200) -> HttpResponse:
    return json_response(body, status, dict(NO_STORE))


def _method_not_allowed() -> HttpResponse:
    return json_response(
        {"error": "invalid_request", "error_description": "Method not allowed here."}, 405, dict(NO_STORE)
    )


def _session_of(tenant_id: TenantId, claims: dict[str, Any]) -> str:
    grant_id = claims.get("gid")
    return container.devices().session_of_grant(tenant_id, grant_id) if isinstance(grant_id, str) else ""


@account_endpoint
def account_api(http: HttpRequest, tenant: str, section: str = "", item: str = "", sub: str = "") -> HttpResponse:
    tenant_id, user, claims = authenticate(http, tenant)
    method = http.method
    if section in ITEMLESS and item:
        raise NotFound("Unknown resource.")
    if section in ("", "profile"):
        if method == "GET":
            return _ok(views.profile(tenant_id, user))
        if method == "PATCH" and section == "profile":
            attributes = _body(http).get("attributes")
            if not isinstance(attributes, dict):
                raise InvalidInput("'attributes' must be an object.", fields={"attributes": "invalid"})
            return _ok(views.update_profile(http, tenant_id, user, attributes, partial=True))
        return _method_not_allowed()
    if section == "email" and method == "POST":
        views.request_email_change(http, tenant_id, user, _text(_body(http), "new_email"))
        return _ok({"status": "verification_pending"}, 202)
    if section == "password" and method == "POST":
        data = _body(http)
        ended = views.change_password(
            http,
            tenant_id,
            user,
            current=_text(data, "current_password"),
            new=_text(data, "new_password"),
            keep_session=_session_of(tenant_id, claims),
        )
        return _ok({"status": "password_changed", "signed_out": ended})
    if section == "sessions":
        return _sessions(http, tenant_id, user, claims, item)
    if section == "tokens" and method == "DELETE" and item:
        views.revoke_token(http, tenant_id, user, item)
        return _ok({"status": "revoked"})
    if section == "activity" and method == "GET":
        return _ok(views.activity(tenant_id, user))
    if section == "consents":
        return _consents(http, tenant_id, user, item, sub)
    if section == "exports":
        return _exports(http, tenant_id, user, item)
    if section == "phone" and method == "POST":
        data = _body(http)
        if item == "verify":
            return _ok(views.confirm_phone_change(http, tenant_id, user, _text(data, "code")))
        if not item:
            return _ok(views.request_phone_change(http, tenant_id, user, _text(data, "phone_number")), 202)
        raise NotFound("Unknown resource.")
    if section == "identities":
        if http.method == "GET" and not item:
            return _ok(views.identities(tenant_id, user))
        if http.method == "DELETE" and item:
            views.unlink_identity(http, tenant_id, user, item)
            return _ok({"status": "unlinked"})
        if http.method == "POST" and not item:
            idp = _text(_body(http), "idp")
            return _ok(linking.issue_for_app(tenant_id, user, claims, _session_of(tenant_id, claims), idp), 201)
        return _method_not_allowed()
    if section == "mfa":
        return _mfa(http, tenant_id, user, claims, item, sub)
    if section == "deletion":
        if method == "GET":
            return _ok(views.deletion(tenant_id, user))
        if method == "POST":
            password = str(_body(http).get("password") or "")
            session_id = _session_of(tenant_id, claims)
            return _ok(views.request_deletion(http, tenant_id, user, password, session_id=session_id), 202)
        return _method_not_allowed()
    if section in ("email", "password", "tokens", "activity"):
        return _method_not_allowed()
    raise NotFound("Unknown resource.")


def _sessions(http: HttpRequest, tenant_id: TenantId, user: User, claims: dict[str, Any], item: str) -> HttpResponse:
    if http.method == "GET" and not item:
        return _ok({**views.devices(tenant_id, user, _session_of(tenant_id, claims)), "current_grant": claims["gid"]})
    if http.method == "DELETE" and not item:
        return _ok({"status": "signed_out_everywhere", **views.sign_out_everywhere(http, tenant_id, user)})
    if http.method == "DELETE":
        views.revoke_session(http, tenant_id, user, item)
        return _ok({"status": "revoked"})
    return _method_not_allowed()


def _mfa(
    http: HttpRequest, tenant_id: TenantId, user: User, claims: dict[str, Any], item: str, sub: str = ""
) -> HttpResponse:
    amr = tuple(str(a) for a in claims.get("amr", []) if isinstance(a, str))
    if factor_api.handles(http.method, item):
        return factor_api.factor_request(http, tenant_id, user, amr, item, sub)
    if http.method == "GET" and not item:
        return _ok(views.mfa(tenant_id, user))
    if http.method == "POST" and item == "recovery-codes":
        return _ok({"recovery_codes": views.regenerate_recovery_codes(http, tenant_id, user, amr)})
    if http.method == "DELETE" and item == "remembered-devices":
        views.forget_devices(http, tenant_id, user)
        return _ok({"status": "forgotten"})
    if http.method == "DELETE" and item:
        views.remove_factor(http, tenant_id, user, item, amr)
        return _ok({"status": "removed"})
    return _method_not_allowed()


def _consents(http: HttpRequest, tenant_id: TenantId, user: User, item: str, sub: str) -> HttpResponse:
    if item == "receipts" and http.method == "GET":
        if sub:
            return receipt_download(tenant_id, user, sub)
        return _ok({"receipts": views.consents(tenant_id, user)["receipts"]})
    if http.method == "GET" and not item:
        return _ok(views.consents(tenant_id, user))
    if http.method == "DELETE" and item:
        revoked = views.revoke_consent(http, tenant_id, user, item)
        return _ok({"status": "revoked", "tokens_revoked": revoked})
    return _method_not_allowed()


def _exports(http: HttpRequest, tenant_id: TenantId, user: User, item: str) -> HttpResponse:
    if http.method == "GET" and not item:
        return _ok(views.exports(tenant_id, user))
    if http.method == "POST" and not item:
        return _ok(views.request_export(http, tenant_id, user), 202)
    if http.method == "GET":
        return export_download(tenant_id, user, item, single(http.query, "token") or "")
    return _method_not_allowed()


def receipt_download(tenant_id: TenantId, user: User, receipt_id: str) -> HttpResponse:
    document = views.receipt(tenant_id, user, receipt_id)
    response = _ok(document)
    response.headers["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt_id[:36]}.json"'
    return response


def export_download(tenant_id: TenantId, user: User, export_id: str, token: str) -> HttpResponse:
    content = views.download_export(tenant_id, user, export_id, token)
    return HttpResponse(
        200,
        content.decode(),
        {
            "Content-Type": "application/json",
            "Content-Disposition": 'attachment; filename="personal-data.json"',
            **NO_STORE,
        },
    )
