"""Email verification (``/t/{tenant}/verify``) and invitation (``/t/{tenant}/invitation``) links.

A link opens a page whose button posts it back: mail scanners that fetch every link (GET) must not use a
single-use link, nor end up signed in. After the post the account is active and the browser signed in: back to the
application with a code when the registration started from an authorization request, else a success page.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import container
from chalicelib.core.entities import User, Verification
from chalicelib.core.errors import CodeInvalid, InvalidInput, NotFound
from chalicelib.core.ids import ROOT_NODE, TenantId
from chalicelib.web.audit import origin_of
from chalicelib.web.errors import page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, redirect, single
from chalicelib.web.oidc import flow, urls
from chalicelib.web.oidc.authorize import code_redirect, consent_page, session_cookie
from chalicelib.web.oidc.pages import error_page, page
from chalicelib.web.oidc.signin_activity import sign_in_context, start_session
from chalicelib.web.selfservice import forms
from chalicelib.web.selfservice.links import forgot_url

EMAIL_LINK_AMR = ("email",)  # possession of the mailbox, proven by a single-use link


def result_page(
    http: HttpRequest,
    tenant_id: TenantId,
    *,
    title: str,
    message: str,
    status: int = 200,
    confirm: str = "",
    action_url: str = "",
    token: str = "",
    link_url: str = "",
    link_label: str = "",
    cookies: list[str] | None = None,
) -> HttpResponse:
    """The one-message page: a confirmation button (``confirm``), a result, or an invalid link."""
    csrf, csrf_cookie = flow.csrf_token(http)
    return page(
        http,
        "verify_result.html",
        tenant_id=tenant_id,
        status=status,
        cookies=[*(cookies or []), *([csrf_cookie] if csrf_cookie else [])],
        title=title,
        message=message,
        confirm=confirm,
        action_url=action_url,
        token=token,
        csrf_token=csrf,
        link_url=link_url,
        link_label=link_label,
    )


def invalid_link_page(http: HttpRequest, tenant_id: TenantId) -> HttpResponse:
    return result_page(
        http,
        tenant_id,
        status=400,
        title="verify.invalid.title",
        message="verify.invalid.message",
        link_url=forgot_url(tenant_id),
        link_label="verify.invalid.action",
    )


def confirmation_page(
    http: HttpRequest, tenant_id: TenantId, check_link: Callable[[str], object], *, messages: str, path: str
) -> HttpResponse:
    """The page an emailed link opens (GET): a button that posts the link's token to ``path`` (mail scanners
    fetch links, so only the post may use it), or the invalid-link page when ``check_link`` raises CodeInvalid.
    ``messages`` is the catalog prefix of its ``.confirm.title``, ``.confirm.message`` and ``.confirm.button``."""
    token = single(http.query, "token") or ""
    try:
        check_link(token)
    except CodeInvalid:
        return invalid_link_page(http, tenant_id)
    return result_page(
        http,
        tenant_id,
        title=f"{messages}.confirm.title",
        message=f"{messages}.confirm.message",
        confirm=f"{messages}.confirm.button",
        action_url=urls.page(tenant_id, path),
        token=token,
    )


def signed_in(http: HttpRequest, tenant_id: TenantId, user: User, verification: Verification) -> HttpResponse:
    """Start a session for the verified user and continue the authorization request it came from, if any."""
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    session, value = start_session(tenant_id, user, sign_in_context(http, ""), amr=EMAIL_LINK_AMR, settings=settings)
    cookie = session_cookie(tenant_id, value, int(settings.get("tokens", "session_seconds")))
    restored = forms.restore_request(tenant_id, verification.resume)
    if restored is not None:
        client, request = restored
        if container.consent().is_needed(tenant_id, client, user.user_id, request.scope, forced=False):
            container.sessions().store(session)
            return consent_page(http, tenant_id, client, request, user, cookies=[cookie])
        response = redirect(code_redirect(tenant_id, client, request, user, session, new_session=True))
        response.cookies.append(cookie)
        return response
    container.sessions().store(session)
    done = "verify.done.invitation" if verification.kind == "invitation" else "verify.done.message"
    return result_page(http, tenant_id, title="verify.done.title", message=done, cookies=[cookie])


def _verify(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    if http.method == "GET":
        return confirmation_page(
            http,
            tenant_id,
            lambda token: container.verification_flow().peek(tenant_id, token, "registration"),
            messages="verify",
            path="verify",
        )
    forms.check_csrf(http)
    try:
        user, verification = container.verification_flow().confirm(
            tenant_id, single(http.form(), "token") or "", "registration", origin=origin_of(http)
        )
    except (CodeInvalid, InvalidInput):
        return invalid_link_page(http, tenant_id)
    return signed_in(http, tenant_id, user, verification)


def password_form(
    http: HttpRequest, tenant_id: TenantId, token: str, *, mode: str, status: int = 200, errors: dict[str, str]
) -> HttpResponse:
    csrf, csrf_cookie = flow.csrf_token(http)
    settings = container.tenants().effective(tenant_id, ROOT_NODE)
    return page(
        http,
        "reset_password.html",
        tenant_id=tenant_id,
        status=status,
        cookies=[csrf_cookie] if csrf_cookie else [],
        mode=mode,
        action_url=urls.page(tenant_id, "invitation" if mode == "invitation" else "password/reset"),
        token=token,
        csrf_token=csrf,
        field_errors=errors,
        min_length=int(settings.get("password_policy", "min_length")),
    )


def _invitation(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    verification_flow = container.verification_flow()
    if http.method == "GET":
        token = single(http.query, "token") or ""
        try:
            verification_flow.peek(tenant_id, token, "invitation")
        except CodeInvalid:
            return invalid_link_page(http, tenant_id)
        return password_form(http, tenant_id, token, mode="invitation", errors={})
    forms.check_csrf(http)
    token = single(http.form(), "token") or ""
    try:
        origin = origin_of(http)
        verification = verification_flow.peek(tenant_id, token, "invitation", origin=origin)
        invited = container.accounts().get(tenant_id, verification.user_id)
        settings = container.tenants().effective(tenant_id, invited.tier_node_id)
        password = single(http.form(), "password") or ""
        user, verification = verification_flow.confirm(
            tenant_id, token, "invitation", password=password, settings=settings, origin=origin
        )
    except (CodeInvalid, NotFound):
        return invalid_link_page(http, tenant_id)
    except InvalidInput as failure:
        errors = forms.field_error_keys(failure.fields)
        return password_form(http, tenant_id, token, mode="invitation", status=400, errors=errors)
    return signed_in(http, tenant_id, user, verification)


verify_endpoint = page_endpoint(error_page)(_verify)
invitation_endpoint = page_endpoint(error_page)(_invitation)
