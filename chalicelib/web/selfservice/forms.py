"""Helpers shared by the self-service pages: CSRF, the optional sign-in flow, field errors, attribute fields."""

from __future__ import annotations

from typing import Any

from chalicelib import container
from chalicelib.core.attributes import AttributeSpec, parse_schema
from chalicelib.core.digests import constant_time_equals, secret_digest
from chalicelib.core.entities import Client
from chalicelib.core.errors import TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.core.settings import EffectiveSettings
from chalicelib.web.errors import InvalidRequest, OAuthError
from chalicelib.web.http import HttpRequest, single
from chalicelib.web.oidc import flow
from chalicelib.web.oidc.authorize import AuthorizationRequest, check_client, check_redirect_uri
from chalicelib.web.pages.i18n import translate

FIELD_MESSAGES = {
    ("email", "invalid"): "login.error.email_invalid",
    ("email", "required"): "login.error.email_required",
    ("password", "required"): "register.error.password_required",
    ("password", "too_short"): "register.error.password_too_short",
    ("password", "too_long"): "register.error.password_too_long",
    ("password", "contains_email"): "register.error.password_contains_email",
    ("password", "common"): "register.error.password_common",
    ("password", "too_weak"): "register.error.password_too_weak",
    ("captcha_token", "invalid"): "register.error.captcha",
    ("new_email", "invalid"): "login.error.email_invalid",
    ("new_email", "unchanged"): "email_change.error.unchanged",
    ("new_email", "taken"): "email_change.error.taken",
}
ATTRIBUTE_MESSAGES = {
    "required": "register.error.attribute_required",
    "invalid": "register.error.attribute_invalid",
    "format": "register.error.attribute_format",
    "too_long": "register.error.attribute_too_long",
}
KNOWN_ATTRIBUTE_LABELS = frozenset(
    {"name", "given_name", "family_name", "nickname", "birthdate", "phone_number", "website", "locale"}
)
INPUT_MODES = {"phone": "tel", "url": "url", "date": "numeric"}
AUTOCOMPLETE = {
    "name": "name",
    "given_name": "given-name",
    "family_name": "family-name",
    "nickname": "nickname",
    "birthdate": "bday",
    "phone_number": "tel",
    "website": "url",
}


def check_csrf(http: HttpRequest) -> None:
    """Double-submit check: the form's ``csrf`` equals the browser's CSRF cookie."""
    posted = single(http.form(), "csrf") or ""
    cookie = http.cookies().get(flow.CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(posted, cookie):
        raise InvalidRequest("This form has expired. Go back, reload the page and try again.")


def sealed_flow_from_query(tenant_id: TenantId, http: HttpRequest) -> str | None:
    """The sealed sign-in flow of a link from the login page, if it is valid and bound to this browser."""
    sealed = single(http.query, "flow")
    cookie = http.cookies().get(flow.CSRF_COOKIE, "")
    if not sealed or not cookie:
        return None
    try:
        claims = container.tokens().verify(tenant_id, sealed, typ=flow.FLOW_TYP, audience=flow.FLOW_AUDIENCE)
    except TokenInvalid:
        return None
    return sealed if constant_time_equals(str(claims.get("csrf", "")), secret_digest(cookie)) else None


def posted_flow(tenant_id: TenantId, http: HttpRequest) -> dict[str, Any] | None:
    """The authorization request sealed into a posted form, or None (a missing or expired flow is not an error:
    the user then lands on a success page instead of the application)."""
    if not single(http.form(), "flow"):
        return None
    try:
        return flow.unseal(tenant_id, http)
    except InvalidRequest:
        return None


def restore_request(tenant_id: TenantId, params: dict[str, Any] | None) -> tuple[Client, AuthorizationRequest] | None:
    """The client and authorization request to continue, if the client and its redirect URI are still valid."""
    if not params:
        return None
    try:
        request = AuthorizationRequest.from_params(params)
        client = check_client(tenant_id, request.client_id)
        check_redirect_uri(client, request.redirect_uri)
    except (OAuthError, TypeError, ValueError):
        return None
    return client, request


def field_error_keys(fields: dict[str, str], schema: tuple[AttributeSpec, ...] = ()) -> dict[str, str]:
    """Domain error codes per field -> catalog keys (the page translates them)."""
    names = {spec.name for spec in schema}
    keys: dict[str, str] = {}
    for name, code in fields.items():
        if name in names:
            keys[name] = ATTRIBUTE_MESSAGES.get(code, "register.error.attribute_invalid")
        else:
            keys[name] = FIELD_MESSAGES.get((name, code), "error.invalid_request")
    return keys


def attribute_fields(
    settings: EffectiveSettings, locale: str, values: dict[str, str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """What the registration form shows for each attribute of the tenant's schema."""
    fields = []
    for spec in parse_schema(settings.get("attributes", "schema")):
        label = spec.label or (
            translate(locale, f"attribute.{spec.name}")
            if spec.name in KNOWN_ATTRIBUTE_LABELS
            else spec.name.replace("_", " ").capitalize()
        )
        fields.append(
            {
                "name": spec.name,
                "label": label,
                "type": spec.type,
                "required": spec.required,
                "value": values.get(spec.name, ""),
                "checked": values.get(spec.name, "") in ("on", "true", "1", "yes"),
                "inputmode": INPUT_MODES.get(spec.type, "text"),
                "autocomplete": AUTOCOMPLETE.get(spec.name, "off"),
                "hint": "register.hint.date" if spec.type == "date" else "",
                "error": translate(locale, errors[spec.name]) if spec.name in errors else "",
            }
        )
    return fields
