"""The account portal's hosted pages (``/t/{tenant}/account/...``): server-rendered, no JavaScript, every form
protected by the double-submit CSRF cookie; a browser without a portal session is sent through our own sign-in
(``portal_session``). Successful posts redirect back to their page with a ``done`` notice (post/redirect/get)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalicelib import container
from chalicelib.core.attributes import AttributeSpec
from chalicelib.core.errors import CodeInvalid, Conflict, InvalidInput, NotFound, RateLimited, ReauthenticationRequired
from chalicelib.core.ids import TenantId
from chalicelib.services.account_profile import editable_fields
from chalicelib.web.account import api, linking, messages, views
from chalicelib.web.account import passkeys as account_passkeys
from chalicelib.web.account.portal_session import (
    PortalUser,
    current_user,
    finish_login,
    portal_path,
    portal_url,
    sign_out,
    start_login,
)
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.oidc import flow
from chalicelib.web.oidc.pages import error_page, page
from chalicelib.web.selfservice import forms

SECTIONS = ("profile", "security", "sessions", "activity", "consents", "privacy")
NOTICES = frozenset(
    {
        "profile_saved",
        "email_sent",
        "password_changed",
        "session_revoked",
        "signed_out_everywhere",
        "consent_revoked",
        "export_requested",
        "devices_forgotten",
        "identity_unlinked",
        "identity_linked",
        "phone_code_sent",
        "phone_changed",
        "passkey_added",
    }
)
FIELD_CODES = {
    "required": "account.error.required",
    "invalid": "account.error.invalid",
    "format": "account.error.format",
    "too_long": "account.error.too_long",
    "unknown": "account.error.invalid",
    "too_short": "register.error.password_too_short",
    "contains_email": "register.error.password_contains_email",
    "common": "register.error.password_common",
    "too_weak": "register.error.password_too_weak",
    "unchanged": "account.error.unchanged",
    "taken": "email_change.error.taken",
    "rate_limited": "account.error.rate_limited",
}


def _render(
    http: HttpRequest,
    tenant_id: TenantId,
    portal: PortalUser,
    section: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    cookies: list[str] | None = None,
    **context: Any,
) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    notice = single(http.query, "done") if http.method == "GET" else None
    if section == "security":
        context = {**account_passkeys.security_context(tenant_id, portal), **context}
    return page(
        http,
        f"account_{section}.html",
        tenant_id=tenant_id,
        node_id=portal.user.tier_node_id,
        status=status,
        cookies=[*(cookies or []), *([csrf_cookie] if csrf_cookie else [])],
        csrf_token=csrf,
        section=section,
        sections=SECTIONS,
        base_url=portal_url(tenant_id),
        user=portal.user,
        notice=f"account.done.{notice}" if notice in NOTICES else None,
        error=error,
        field_errors={k: FIELD_CODES.get(v, "account.error.invalid") for k, v in (errors or {}).items()},
        **context,
    )


def _done(tenant_id: TenantId, section: str, notice: str) -> HttpResponse:
    path = "" if section == "profile" else section
    return redirect(f"{portal_url(tenant_id, path)}?{urlencode({'done': notice})}")


def _profile_fields(specs: tuple[AttributeSpec, ...], values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "label": s.label or messages.attribute_label(s.name),
            "type": s.type,
            "required": s.required,
            "value": "" if values.get(s.name) is None else values.get(s.name),
        }
        for s in specs
    ]


def _profile(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    user = portal.user
    specs = editable_fields(views.settings_for(tenant_id, user))
    errors: dict[str, str] = {}
    values: dict[str, Any] = dict(user.profile)
    status = 200
    if http.method == "POST":
        form = http.form()
        action = single(form, "action")
        if action in ("phone", "phone_verify"):
            try:
                if action == "phone":
                    views.request_phone_change(http, tenant_id, user, (single(form, "phone_number") or "")[:64])
                else:
                    views.confirm_phone_change(http, tenant_id, user, (single(form, "code") or "")[:16])
            except InvalidInput as failure:
                errors, status = failure.fields, 400
            except CodeInvalid:
                errors, status = {"code": "invalid"}, 400
            except RateLimited:
                errors, status = {"phone_number": "rate_limited"}, 429
            else:
                return _done(tenant_id, "profile", "phone_code_sent" if action == "phone" else "phone_changed")
        elif action == "email":
            new_email = (single(form, "new_email") or "").strip()[:254]
            try:
                views.request_email_change(http, tenant_id, user, new_email)
            except InvalidInput as failure:
                errors, status = {f"new_{k}" if k == "email" else k: v for k, v in failure.fields.items()}, 400
            else:
                return _done(tenant_id, "profile", "email_sent")
        else:
            submitted = {s.name: single(form, s.name) or "" for s in specs}
            try:
                views.update_profile(http, tenant_id, user, dict(submitted), partial=False)
            except InvalidInput as failure:
                errors, status, values = failure.fields, 400, submitted
            else:
                return _done(tenant_id, "profile", "profile_saved")
    view = views.profile(tenant_id, user)
    view["phone_pending"] = container.phone_change().pending(tenant_id, user)
    return _render(
        http, tenant_id, portal, "profile", status=status, errors=errors, profile=view,
        fields=_profile_fields(specs, values),
    )  # fmt: skip


LINK_FAILURES = {
    "identity_taken": "account.error.identity_taken",
    "provider_linked": "account.error.provider_linked",
}


def _security(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    factors = views.mfa(tenant_id, portal.user)
    ways = views.identities(tenant_id, portal.user)["identities"]
    offered = linking.providers(tenant_id, portal.user, ways)
    if http.method == "POST":
        form = http.form()
        if single(form, "action") in account_passkeys.ACTIONS:
            return account_passkeys.add_passkey(
                http,
                tenant_id,
                portal,
                lambda **kw: _render(
                    http, tenant_id, portal, "security", mfa=factors, identities=ways, providers=offered, **kw
                ),
                lambda: _done(tenant_id, "security", "passkey_added"),
            )
        if single(form, "action") == "link":
            try:
                return linking.start_from_portal(http, tenant_id, portal, single(form, "idp") or "")
            except (NotFound, Conflict) as refused:
                return _render(
                    http, tenant_id, portal, "security", status=404 if isinstance(refused, NotFound) else 409,
                    error="account.error.gone" if isinstance(refused, NotFound) else "account.error.provider_linked",
                    mfa=factors, identities=ways, providers=offered,
                )  # fmt: skip
        if single(form, "action") == "forget_devices":
            views.forget_devices(http, tenant_id, portal.user)
            return _done(tenant_id, "security", "devices_forgotten")
        if single(form, "action") == "unlink":
            try:
                views.unlink_identity(http, tenant_id, portal.user, single(form, "integration") or "")
            except Conflict:
                return _render(
                    http, tenant_id, portal, "security", status=409, error="account.error.last_way_in",
                    mfa=factors, identities=ways, providers=offered,
                )  # fmt: skip
            except NotFound:
                return _render(
                    http, tenant_id, portal, "security", status=404, error="account.error.gone",
                    mfa=factors, identities=ways, providers=offered,
                )  # fmt: skip
            return _done(tenant_id, "security", "identity_unlinked")
        try:
            views.change_password(
                http,
                tenant_id,
                portal.user,
                current=single(form, "current_password") or "",
                new=single(form, "new_password") or "",
                keep_session=portal.session_id,
            )
        except InvalidInput as failure:
            return _render(
                http,
                tenant_id,
                portal,
                "security",
                status=400,
                errors=failure.fields,
                mfa=factors,
                identities=ways,
                providers=offered,
            )
        except RateLimited:
            return _render(
                http,
                tenant_id,
                portal,
                "security",
                status=429,
                error="login.error.too_many_attempts",
                mfa=factors,
                identities=ways,
                providers=offered,
            )
        return _done(tenant_id, "security", "password_changed")
    failed = LINK_FAILURES.get(single(http.query, "failed") or "")
    return _render(
        http, tenant_id, portal, "security", error=failed, mfa=factors,
        identities=ways, providers=offered, relink=single(http.query, "link") or "",
    )  # fmt: skip


def _sessions(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    if http.method == "POST":
        form = http.form()
        action, target = single(form, "action"), single(form, "id") or ""
        if action == "everywhere":
            views.sign_out_everywhere(http, tenant_id, portal.user)
            return redirect(portal_url(tenant_id, "signed-out"))
        try:
            if action == "session":
                views.revoke_session(http, tenant_id, portal.user, target)
            elif action == "token":
                views.revoke_token(http, tenant_id, portal.user, target)
            else:
                raise NotFound("Unknown action.")
        except NotFound:
            return _render(
                http, tenant_id, portal, "sessions", status=404, error="account.error.gone",
                **views.devices(tenant_id, portal.user, portal.session_id),
            )  # fmt: skip
        if action == "session" and target == portal.session_id:
            return redirect(portal_url(tenant_id, "signed-out"))
        return _done(tenant_id, "sessions", "session_revoked")
    return _render(http, tenant_id, portal, "sessions", **views.devices(tenant_id, portal.user, portal.session_id))


def _consents(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    if http.method == "POST":
        try:
            views.revoke_consent(http, tenant_id, portal.user, single(http.form(), "client_id") or "")
        except NotFound:
            return _render(
                http, tenant_id, portal, "consents", status=404, error="account.error.gone",
                **views.consents(tenant_id, portal.user),
            )  # fmt: skip
        return _done(tenant_id, "consents", "consent_revoked")
    return _render(http, tenant_id, portal, "consents", **views.consents(tenant_id, portal.user))


def _privacy(http: HttpRequest, tenant_id: TenantId, portal: PortalUser) -> HttpResponse:
    status, errors, error = 200, {}, None
    if http.method == "POST":
        form = http.form()
        if single(form, "action") == "export":
            try:
                views.request_export(http, tenant_id, portal.user)
            except RateLimited:
                status, error = 429, "account.error.export_cooldown"
            else:
                return _done(tenant_id, "privacy", "export_requested")
        elif single(form, "action") == "delete":
            try:
                views.request_deletion(
                    http, tenant_id, portal.user, single(form, "password") or "", session_id=portal.session_id
                )
            except ReauthenticationRequired:  # no password: confirm with a fresh sign-in, then press again
                return start_login(http, tenant_id, _return_path(tenant_id, "privacy", "", http), prompt="login")
            except InvalidInput as failure:
                status, errors = 400, failure.fields
            except RateLimited:
                status, error = 429, "login.error.too_many_attempts"
            else:
                return redirect(portal_url(tenant_id, "signed-out") + "?deletion=scheduled")
    return _render(
        http, tenant_id, portal, "privacy", status=status, errors=errors, error=error,
        deletion=views.deletion(tenant_id, portal.user), **views.exports(tenant_id, portal.user),
    )  # fmt: skip


def _export_download(http: HttpRequest, tenant_id: TenantId, portal: PortalUser, export_id: str) -> HttpResponse:
    try:
        return api.export_download(tenant_id, portal.user, export_id, single(http.query, "token") or "")
    except CodeInvalid:
        return _render(
            http, tenant_id, portal, "privacy", status=410, error="account.error.export_link",
            deletion=views.deletion(tenant_id, portal.user), **views.exports(tenant_id, portal.user),
        )  # fmt: skip


def _return_path(tenant_id: TenantId, section: str, item: str, http: HttpRequest) -> str:
    path = "/".join(p for p in (portal_path(tenant_id), section, item) if p)
    token = single(http.query, "token")
    return f"{path}?{urlencode({'token': token})}" if token and section == "exports" else path


def _portal(http: HttpRequest, tenant: str, section: str = "", item: str = "", sub: str = "") -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    if section == "callback":
        return finish_login(http, tenant_id)
    if section == "signed-out":
        deletion = single(http.query, "deletion") == "scheduled"
        return page(
            http, "account_signed_out.html", tenant_id=tenant_id, base_url=portal_url(tenant_id), deletion=deletion
        )
    if section == "link" and item and not sub:  # the end of a link's upstream round trip (its own checks)
        return linking.link_page(http, tenant_id, item)
    portal = current_user(http, tenant_id)
    if portal is None:
        return start_login(
            http, tenant_id, _return_path(tenant_id, section, item, http) if http.method == "GET" else ""
        )
    if http.method == "POST":
        forms.check_csrf(http)
    if section == "logout" and http.method == "POST":
        return sign_out(http, tenant_id, portal)
    if section == "exports" and item and http.method == "GET":
        return _export_download(http, tenant_id, portal, item)
    if section == "consents" and item == "receipts" and sub and http.method == "GET":
        return api.receipt_download(tenant_id, portal.user, sub)
    if item or http.method not in ("GET", "POST"):
        raise NotFound("Unknown page.")
    if section == "activity" and http.method == "GET":
        return _render(http, tenant_id, portal, "activity", **views.activity(tenant_id, portal.user))
    handlers = {
        "": _profile,
        "profile": _profile,
        "security": _security,
        "sessions": _sessions,
        "consents": _consents,
        "privacy": _privacy,
    }
    handler = handlers.get(section)
    if handler is None:
        raise NotFound("Unknown page.")
    return handler(http, tenant_id, portal)


portal_page = page_endpoint(error_page)(_portal)
