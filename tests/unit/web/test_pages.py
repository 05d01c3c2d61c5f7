"""Hosted pages: templates render in every locale, escape hostile input, stay accessible; locale negotiation."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from chalicelib.web.pages import i18n
from chalicelib.web.pages.render import DEFAULT_PRIMARY_COLOR, contrast_ratio, href, normalize_branding, render_page

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_DIR = REPO_ROOT / "chalicelib" / "web" / "pages" / "templates"
HOSTILE = '<script>alert("x")</script>'
BRANDING = {"display_name": "Acme Shop", "primary_color": "#0a7d3b", "logo_url": "https://cdn.example.com/logo.png"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


class Page(HTMLParser):
    """The elements (with attributes) and visible text (whitespace collapsed) of a rendered page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text_parts: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.get(k) == v for k, v in attrs.items())]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


def login_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "action_url": "/t/acme/login?flow=f1&x=1",
        "csrf_token": "csrf-123",
        "flow_id": "flow-456",
        "email": "",
        "client_name": "Acme Web",
        "error": None,
        "field_errors": {},
        "register_url": "/t/acme/register?flow=f1",
        "forgot_url": "/t/acme/forgot?flow=f1",
        "providers": [{"name": "google", "display_name": "Google", "url": "/t/acme/federate/google?flow=f1"}],
    }
    context.update(overrides)
    return context


def consent_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "action_url": "/t/acme/consent",
        "csrf_token": "csrf-123",
        "flow_id": "flow-456",
        "client_name": "Acme Web",
        "user_email": "ada@example.com",
        "scopes": [
            {"name": "openid", "description": ""},
            {"name": "email", "description": ""},
            {"name": "orders:read", "description": ""},
            {"name": "profile", "description": "Your name, from Acme"},
        ],
    }
    context.update(overrides)
    return context


ALL_PAGES: dict[str, dict[str, Any]] = {
    "login.html": login_context(),
    "consent.html": consent_context(),
    "error.html": {"title": "Invalid request", "message": "The redirect URI is not registered.", "error_code": "E42"},
    "logout.html": {
        "action_url": "/t/acme/logout",
        "csrf_token": "csrf-123",
        "hidden": {"post_logout_redirect_uri": "https://app.example.com/bye", "state": "s1"},
        "client_name": "Acme Web",
    },
    "logged_out.html": {"return_url": "https://app.example.com/bye?state=s1"},
    "callback.html": {"params": [("code", "abc"), ("state", "xyz")]},
}


def render(template: str, locale: str = "en", branding: Mapping[str, Any] | None = None, **context: Any) -> str:
    return render_page(template, locale=locale, branding=BRANDING if branding is None else branding, **context)


# --- every page -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de", "fr"])
@pytest.mark.parametrize("template", sorted(ALL_PAGES))
def test_every_page_renders_as_accessible_html5(template: str, locale: str) -> None:
    html = render(template, locale, **ALL_PAGES[template])
    page = Page(html)

    assert html.startswith("<!DOCTYPE html>")
    assert page.one("html").get("lang") == locale
    assert page.one("meta", name="viewport")
    skip = page.one("a", **{"class": "skip-link"})
    assert skip.get("href") == "#main"
    assert page.one("main").get("id") == "main"
    assert len(page.find("h1")) == 1
    assert "Acme Shop" in page.text
    assert not page.find("script"), "no JavaScript anywhere"
    assert not page.find("link"), "no external stylesheets"
    assert all("style" not in e.attrs for e in page.elements), "no style attributes (CSP)"
    assert all(not k.startswith("on") for e in page.elements for k in e.attrs), "no inline event handlers"
    assert "{" + "{" not in html and "scope." not in page.text and "login." not in page.text


@pytest.mark.parametrize("template", sorted(ALL_PAGES))
def test_pages_differ_by_locale(template: str) -> None:
    english = Page(render(template, "en", **ALL_PAGES[template])).text
    german = Page(render(template, "de", **ALL_PAGES[template])).text
    assert english != german


def test_template_name_without_suffix_and_unknown_locale_falls_back_to_english() -> None:
    html = render("error", "xx", **ALL_PAGES["error.html"])
    assert Page(html).one("html").get("lang") == "en"


def test_missing_required_context_fails_loudly() -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render("consent.html", client_name="Acme Web")


# --- login ----------------------------------------------------------------------------------------------------------


def test_login_form_fields_labels_and_hidden_fields() -> None:
    page = Page(render("login.html", **login_context(email="ada@example.com")))

    form = page.one("form")
    assert form.get("method") == "post"
    assert form.get("action") == "/t/acme/login?flow=f1&x=1"
    assert page.one("input", name="csrf").get("type") == "hidden"
    assert page.one("input", name="csrf").get("value") == "csrf-123"
    assert page.one("input", name="flow").get("value") == "flow-456"

    email = page.one("input", name="email")
    assert email.get("id") == "email"
    assert email.get("type") == "email"
    assert email.get("autocomplete") == "username"
    assert email.get("value") == "ada@example.com"
    password = page.one("input", name="password")
    assert password.get("type") == "password"
    assert password.get("autocomplete") == "current-password"
    assert "value" not in password.attrs
    assert page.one("label", **{"for": "email"})
    assert page.one("label", **{"for": "password"})
    assert page.one("button", type="submit")

    assert not page.find("div", role="alert")
    assert "aria-invalid" not in email.attrs
    assert page.one("a", href="/t/acme/register?flow=f1")
    assert page.one("a", href="/t/acme/forgot?flow=f1")
    assert page.one("a", href="/t/acme/federate/google?flow=f1")
    assert "Continue with Google" in page.text
    assert "to continue to Acme Web" in page.text


def test_login_in_german() -> None:
    page = Page(render("login.html", "de", **login_context()))
    assert "E-Mail-Adresse" in page.text
    assert "Passwort" in page.text
    assert "Konto erstellen" in page.text
    assert "Weiter mit Google" in page.text


def test_login_errors_are_summarised_and_linked_to_fields() -> None:
    context = login_context(
        error=i18n.translate("en", "login.error.invalid_credentials"),
        field_errors={"password": i18n.translate("en", "login.error.password_required")},
    )
    page = Page(render("login.html", **context))

    summary = page.one("div", role="alert")
    assert summary.get("class") == "error-summary"
    assert "There is a problem" in page.text
    assert "The email address or password is incorrect." in page.text
    assert page.one("a", href="#password")

    password = page.one("input", name="password")
    assert password.get("aria-invalid") == "true"
    assert password.get("aria-describedby") == "password-error"
    assert page.one("p", id="password-error")
    assert "aria-invalid" not in page.one("input", name="email").attrs


def test_login_optional_links_absent() -> None:
    page = Page(render("login.html", **login_context(register_url=None, forgot_url=None, providers=[], client_name="")))
    assert [e.get("href") for e in page.find("a")] == ["#main"]
    assert not page.find("h2")


def test_login_escapes_hostile_input() -> None:
    context = login_context(
        email=HOSTILE,
        client_name=HOSTILE,
        error=HOSTILE,
        field_errors={"email": HOSTILE},
        providers=[{"name": "x", "display_name": HOSTILE, "url": "/x"}],
    )
    html = render("login.html", branding={**BRANDING, "display_name": HOSTILE}, **context)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert Page(html).one("input", name="email").get("value") == HOSTILE


def test_javascript_urls_are_neutralised() -> None:
    page = Page(render("login.html", **login_context(register_url="javascript:alert(1)", forgot_url=" JaVaScRiPt:x")))
    assert all("javascript" not in (a.get("href") or "").lower() for a in page.find("a"))


# --- consent --------------------------------------------------------------------------------------------------------


def test_consent_one_form_two_decisions_and_scope_descriptions() -> None:
    page = Page(render("consent.html", **consent_context()))

    assert len(page.find("form")) == 1
    assert page.one("form").get("action") == "/t/acme/consent"
    assert page.one("input", name="csrf").get("value") == "csrf-123"
    assert page.one("input", name="flow").get("value") == "flow-456"
    assert page.one("button", name="decision", value="allow").get("type") == "submit"
    assert page.one("button", name="decision", value="deny").get("type") == "submit"

    text = page.text
    assert "Acme Web wants to access your account" in text
    assert "ada@example.com" in text
    assert "Confirm your identity" in text
    assert "See your email address" in text
    assert "orders:read" in text
    assert "Your name, from Acme" in text


def test_consent_in_german() -> None:
    text = Page(render("consent.html", "de", **consent_context())).text
    assert "Acme Web möchte auf Ihr Konto zugreifen" in text
    assert "Ihre Identität bestätigen" in text
    assert "Erlauben" in text and "Ablehnen" in text


def test_consent_escapes_hostile_input() -> None:
    context = consent_context(
        client_name=HOSTILE,
        user_email=HOSTILE,
        scopes=[{"name": HOSTILE, "description": ""}, {"name": "a", "description": HOSTILE}],
    )
    html = render("consent.html", **context)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 4


# --- error, logout, logged out, callback -----------------------------------------------------------------------------


def test_error_page() -> None:
    page = Page(render("error.html", "de", title="Ungültige Anfrage", message=HOSTILE, error_code="E42"))
    assert "Ungültige Anfrage" in page.text
    assert HOSTILE in page.text
    assert "Fehlercode: E42" in page.text
    assert not page.find("meta", **{"http-equiv": "refresh"})

    page = Page(render("error.html", title="", message="m", error_code=None))
    assert "Something went wrong" in page.text
    assert "Error code" not in page.text


def test_logout_confirmation_form() -> None:
    page = Page(render("logout.html", **ALL_PAGES["logout.html"]))
    assert page.one("form").get("method") == "post"
    assert page.one("input", name="csrf").get("value") == "csrf-123"
    assert page.one("input", name="post_logout_redirect_uri").get("value") == "https://app.example.com/bye"
    assert page.one("input", name="state").get("type") == "hidden"
    assert "Acme Web asks you to sign out" in page.text

    html = render("logout.html", "fr", action_url="/l", csrf_token="c", hidden={}, client_name=None)
    assert "Voulez-vous vous déconnecter\u00a0?" in html
    assert [e.get("name") for e in Page(html).find("input")] == ["csrf"]


def test_logged_out_with_and_without_return_link() -> None:
    page = Page(render("logged_out.html", return_url="https://app.example.com/bye?state=s1"))
    assert "You are signed out" in page.text
    assert page.one("a", href="https://app.example.com/bye?state=s1")

    page = Page(render("logged_out.html", "de", return_url=None))
    assert "Sie sind abgemeldet" in page.text
    assert [a.get("href") for a in page.find("a")] == ["#main"]


def test_callback_table_cells_named_by_parameter() -> None:
    page = Page(render("callback.html", params=[("code", "abc"), ("state", HOSTILE)]))
    assert page.one("table", id="callback-params")
    assert page.one("td", **{"data-name": "code"})
    assert page.one("td", **{"data-name": "state"})
    assert HOSTILE in page.text
    assert "No parameters" not in page.text

    empty = Page(render("callback.html", params=[]))
    assert empty.one("table", id="callback-params")
    assert "No parameters were received." in empty.text


# --- branding -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "color", ["red", "#fff", "#12345g", "#1234567", "1234ab", "#123456; } body { display:none", "", None, 7]
)
def test_bad_brand_colour_falls_back_to_default(color: object) -> None:
    branding = {**BRANDING, "primary_color": color}
    html = render("error.html", branding=branding, **ALL_PAGES["error.html"])
    assert f"--brand: {DEFAULT_PRIMARY_COLOR};" in html
    assert normalize_branding(branding, "en")["primary_color"] == DEFAULT_PRIMARY_COLOR


def test_valid_brand_colour_is_used() -> None:
    html = render("error.html", branding={**BRANDING, "primary_color": "#0A7D3B"}, **ALL_PAGES["error.html"])
    assert "--brand: #0a7d3b;" in html


@pytest.mark.parametrize("color", ["#ffffff", "#ffeb3b", "#2f5bea", "#000000", "#7fdbff"])
def test_derived_colours_keep_text_contrast(color: str) -> None:
    branding = normalize_branding({"primary_color": color}, "en")
    assert contrast_ratio(branding["primary_color"], branding["on_primary"]) >= 4.5
    assert contrast_ratio(branding["accent_color"], "#ffffff") >= 4.5


def test_logo_only_when_safe_and_present() -> None:
    assert Page(render("error.html", **ALL_PAGES["error.html"])).one("img").get("src") == BRANDING["logo_url"]
    for logo in ["", "javascript:alert(1)", "data:image/png;base64,AAAA"]:
        page = Page(render("error.html", branding={**BRANDING, "logo_url": logo}, **ALL_PAGES["error.html"]))
        assert not page.find("img")


def test_empty_display_name_uses_translated_fallback() -> None:
    text = Page(render("error.html", "de", branding={}, **ALL_PAGES["error.html"])).text
    assert "Konto" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/t/a/login", "/t/a/login"),
        ("https://a.example/x", "https://a.example/x"),
        ("?flow=1", "?flow=1"),
        ("javascript:alert(1)", "#"),
        ("java\tscript:alert(1)", "#"),
        ("data:text/html,x", "#"),
        ("http://[::1", "#"),
    ],
)
def test_href_filter(url: str, expected: str) -> None:
    assert href(url) == expected


# --- localisation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ui_locales", "accept_language", "expected"),
    [
        ("de", "fr", "de"),  # ui_locales wins
        ("ja de-CH en", "fr", "de"),  # first supported ui_locale, by primary subtag
        ("ja zh-Hant", "fr-FR,fr;q=0.9", "fr"),  # no supported ui_locale: Accept-Language decides
        (None, "de-DE,de;q=0.9,en;q=0.8", "de"),
        (None, "en;q=0.5, fr;q=0.9, de;q=0.7", "fr"),  # q-values, not order
        (None, "fr;q=0.8, de;q=0.8", "fr"),  # ties keep header order
        (None, "de-AT", "de"),
        (None, "FR-ca", "fr"),
        (None, "pt-BR, es;q=0.9", "en"),
        (None, "de;q=0, *", "en"),
        (None, "en;q=0, *;q=0.5", "de"),
        (None, "*", "en"),
        (None, "de;q=0", "en"),
        ("", "", "en"),
        (None, None, "en"),
        ("   ", "   ", "en"),
        ("<script>", ";;;,,,q=", "en"),
        ("de\x00", "de;q=abc, fr;q=2", "en"),  # malformed tag and q-values are ignored
        (None, "de;q=1.5, fr;q=0.3", "fr"),
        (None, "x" * 10_000 + ",de", "en"),  # oversized headers are truncated, not parsed in full
        (None, "de_CH", "de"),
    ],
)
def test_negotiate_locale(ui_locales: str | None, accept_language: str | None, expected: str) -> None:
    assert i18n.negotiate_locale(ui_locales, accept_language) == expected


def test_negotiate_locale_never_raises_on_garbage() -> None:
    for value in ["\udcff", "de;q=", ";", "-", "de--ch", "q=0.5", "\u00e9\u00e8", "de;" * 5000, "1;q=1e10"]:
        assert i18n.negotiate_locale(value, value) in i18n.SUPPORTED_LOCALES


def test_catalog_is_complete_and_placeholders_match() -> None:
    assert set(i18n.MESSAGES) == set(i18n.SUPPORTED_LOCALES)
    english = i18n.MESSAGES[i18n.DEFAULT_LOCALE]
    for locale in i18n.SUPPORTED_LOCALES:
        catalog = i18n.MESSAGES[locale]
        assert set(catalog) == set(english), f"{locale}: {set(catalog) ^ set(english)}"
        for key, message in catalog.items():
            assert message.strip(), f"{locale}:{key} is empty"
            assert placeholders(message) == placeholders(english[key]), f"{locale}:{key}"
            assert "<" not in message, f"{locale}:{key} must be plain text"
    for scope in i18n.KNOWN_SCOPES:
        assert f"scope.{scope}" in english


def placeholders(message: str) -> set[str]:
    return {name for _text, name, _spec, _conv in string.Formatter().parse(message) if name is not None}


def test_every_catalog_key_used_by_templates_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATE_DIR.glob("*.html"):
        used |= set(re.findall(r"""_\(\s*["']([a-z_.]+)["']""", template.read_text(encoding="utf-8")))
    assert used
    assert used <= set(i18n.MESSAGES["en"]), used - set(i18n.MESSAGES["en"])


def test_translate_fallbacks_and_formatting() -> None:
    assert i18n.translate("de", "login.submit") == "Anmelden"
    assert i18n.translate("xx", "login.submit") == "Sign in"
    assert i18n.translate("de", "no.such.key") == "no.such.key"
    assert i18n.translate("fr", "login.continue_with", provider="Google") == "Continuer avec Google"
    assert i18n.translate("en", "login.continue_with") == "Continue with {provider}"  # missing argument: no crash


def test_describe_scope() -> None:
    assert i18n.describe_scope("de", "email") == "Ihre E-Mail-Adresse sehen"
    assert i18n.describe_scope("de", "email", "Custom") == "Custom"
    assert i18n.describe_scope("de", "email", "   ") == "Ihre E-Mail-Adresse sehen"
    assert i18n.describe_scope("de", "orders:read") == "orders:read"


# --- cold start -----------------------------------------------------------------------------------------------------


def test_importing_render_does_not_import_jinja2() -> None:
    code = "import chalicelib.web.pages.render, sys; assert 'jinja2' not in sys.modules, 'jinja2 imported eagerly'"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
