"""The self-service templates render in every locale, show per-field errors, and use only catalog keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.web.pages import i18n
from chalicelib.web.pages.render import render_page
from chalicelib.web.selfservice import forms

BRANDING = {"display_name": "Acme Shop", "primary_color": "#0a7d3b", "logo_url": ""}
ATTRIBUTES = [
    {
        "name": "given_name",
        "label": "First name",
        "type": "string",
        "required": True,
        "value": "Ada",
        "checked": False,
        "inputmode": "text",
        "autocomplete": "given-name",
        "hint": "",
        "error": "Required!",
    },
    {
        "name": "birthdate",
        "label": "Date of birth",
        "type": "date",
        "required": False,
        "value": "",
        "checked": False,
        "inputmode": "numeric",
        "autocomplete": "bday",
        "hint": "register.hint.date",
        "error": "",
    },
    {
        "name": "terms",
        "label": "I accept",
        "type": "boolean",
        "required": True,
        "value": "on",
        "checked": True,
        "inputmode": "text",
        "autocomplete": "off",
        "hint": "",
        "error": "",
    },
]
PAGES: dict[str, dict[str, Any]] = {
    "register.html": {
        "action_url": "/t/acme/register",
        "csrf_token": "c",
        "flow_id": "f",
        "email": "ada@example.com",
        "attributes": ATTRIBUTES,
        "field_errors": {"password": "Too weak!"},
        "error": None,
        "captcha": "local",
        "turnstile_site_key": "",
        "min_length": 10,
    },
    "check_email.html": {
        "message": "check_email.registration",
        "email": "ada@example.com",
        "resend_url": "/t/acme/verification/resend",
        "csrf_token": "c",
    },
    "verify_result.html": {
        "title": "verify.confirm.title",
        "message": "verify.confirm.message",
        "confirm": "verify.confirm.button",
        "action_url": "/t/acme/verify",
        "token": "t",
        "csrf_token": "c",
        "link_url": "",
        "link_label": "",
    },
    "forgot_password.html": {
        "action_url": "/t/acme/password/forgot",
        "csrf_token": "c",
        "email": "",
        "field_errors": {},
    },
    "reset_password.html": {
        "mode": "reset",
        "action_url": "/t/acme/password/reset",
        "token": "t",
        "csrf_token": "c",
        "field_errors": {},
        "min_length": 10,
    },
    "email_change.html": {
        "action_url": "/t/acme/email/change",
        "csrf_token": "c",
        "email": "",
        "current_email": "ada@example.com",
        "field_errors": {},
    },
}


@pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
@pytest.mark.parametrize("template", sorted(PAGES))
def test_pages_render_in_every_locale(template: str, locale: str) -> None:
    html = render_page(template, locale=locale, branding=BRANDING, **PAGES[template])
    assert html.startswith("<!DOCTYPE html>") and f'lang="{locale}"' in html
    assert html.count("<h1>") == 1 and "<script" not in html and " style=" not in html
    text = re.sub(r"<[^>]+>", " ", html.split("</style>", 1)[1])
    assert not re.search(r"\b(register|verify|check_email|reset|forgot|email_change)\.[a-z_.]+", text), text


def test_register_shows_each_error_next_to_its_field_and_keeps_values() -> None:
    html = render_page("register.html", locale="en", branding=BRANDING, **PAGES["register.html"])
    assert 'id="given_name-error"' in html and "Required!" in html
    assert 'id="password-error"' in html and "Too weak!" in html
    assert 'aria-describedby="given_name-error"' in html
    assert 'value="Ada"' in html and "checked" in html
    assert "Format: YYYY-MM-DD" in html and "(optional)" in html
    assert 'name="captcha_token"' in html


def test_turnstile_widget_only_for_turnstile() -> None:
    context = {**PAGES["register.html"], "captcha": "turnstile", "turnstile_site_key": "site-key"}
    html = render_page("register.html", locale="en", branding=BRANDING, **context)
    assert 'data-sitekey="site-key"' in html and "challenges.cloudflare.com" in html
    assert 'name="captcha_token"' not in html


def test_invitation_mode_of_the_password_page() -> None:
    context = {**PAGES["reset_password.html"], "mode": "invitation"}
    html = render_page("reset_password.html", locale="en", branding=BRANDING, **context)
    assert "Accept your invitation" in html and "Activate account" in html


def test_login_offers_resend_only_when_asked() -> None:
    base = {
        "action_url": "/t/acme/login",
        "csrf_token": "c",
        "flow_id": "f",
        "email": "ada@example.com",
        "client_name": "Shop",
        "error": "x",
        "field_errors": {},
        "register_url": None,
        "forgot_url": None,
        "providers": [],
    }
    assert "resend" not in render_page("login.html", locale="en", branding=BRANDING, **base)
    html = render_page("login.html", locale="de", branding=BRANDING, **base, resend_url="/t/acme/verification/resend")
    assert 'action="/t/acme/verification/resend"' in html and "Neuen Bestätigungslink senden" in html


def test_every_key_the_pages_pass_exists_in_the_catalog() -> None:
    english = set(i18n.MESSAGES["en"])
    keys = {*forms.FIELD_MESSAGES.values(), *forms.ATTRIBUTE_MESSAGES.values()}
    keys |= {f"attribute.{name}" for name in forms.KNOWN_ATTRIBUTE_LABELS}
    source = "\n".join(p.read_text() for p in Path(forms.__file__).parent.glob("*.py"))
    found = re.findall(r'"((?:register|verify|check_email|reset|email_change|login)\.[a-z_.]+)"', source)
    keys |= {key for key in found if not key.endswith(".html")}
    assert keys and keys <= english, keys - english
