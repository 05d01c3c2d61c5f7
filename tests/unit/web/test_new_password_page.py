"""The hosted login's "Choose a new password" page renders in every locale, accessibly and without scripts, with
the password field conventions of the other new-password forms, its errors linked to the field, input escaped."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.web.pages import i18n
from tests.unit.web.test_pages import HOSTILE, Page, render

CONTEXT: dict[str, Any] = {
    "action_url": "/t/acme/login/new-password",
    "csrf_token": "csrf-123",
    "flow_id": "flow-456",
    "email": "robin@example.com",
    "client_name": "Acme Web",
    "field_errors": {},
    "min_length": 10,
}


@pytest.mark.parametrize("locale", ["en", "de", "fr"])
def test_renders_accessibly_in_every_locale(locale: str) -> None:
    page = Page(render("new_password.html", locale, **CONTEXT))
    assert page.one("html").get("lang") == locale
    assert page.one("h1")
    assert not page.find("script") and all("style" not in e.attrs for e in page.elements)
    assert "new_password." not in page.text and "register." not in page.text
    form = page.one("form", method="post")
    assert form.get("action") == "/t/acme/login/new-password"
    assert page.one("input", name="csrf").get("value") == "csrf-123"
    assert page.one("input", name="flow").get("value") == "flow-456"
    field = page.one("input", name="password")
    assert field.get("type") == "password" and field.get("autocomplete") == "new-password"
    assert field.get("minlength") == "10" and field.get("id") == "password"
    assert page.one("label", **{"for": "password"})
    assert page.one("input", name="username").get("autocomplete") == "username"
    assert "10" in page.text and "robin@example.com" in page.text and "Acme Web" in page.text


def test_pages_differ_by_locale() -> None:
    texts = {locale: Page(render("new_password.html", locale, **CONTEXT)).text for locale in i18n.SUPPORTED_LOCALES}
    assert len(set(texts.values())) == 3


def test_a_field_error_is_summarised_and_linked_to_the_field() -> None:
    message = i18n.translate("en", "new_password.error.unchanged")
    page = Page(render("new_password.html", "en", **{**CONTEXT, "field_errors": {"password": message}}))
    assert page.one("a", href="#password")
    field = page.one("input", name="password")
    assert field.get("aria-invalid") == "true" and field.get("aria-describedby") == "password-error"
    assert message in page.text


def test_hostile_input_is_escaped() -> None:
    html = render("new_password.html", "en", **{**CONTEXT, "email": HOSTILE, "client_name": HOSTILE})
    assert HOSTILE not in html and not Page(html).find("script")
