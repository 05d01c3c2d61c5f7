"""The second-factor pages render in every locale, accessibly, without scripts, and every catalog key they build
from a factor kind exists."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.web.pages import i18n
from tests.unit.web.test_pages import Page, render

KINDS = ("totp", "email_otp", "sms_otp", "recovery_code")
OTHERS = [
    {"value": "sms_otp:e2", "kind": "sms_otp", "label": "•••• 4567"},
    {"value": "recovery_code:recovery", "kind": "recovery_code", "label": "Recovery codes"},
]
PAGES: dict[str, dict[str, Any]] = {
    "mfa_challenge.html": {
        "action_url": "/t/acme/mfa/challenge",
        "csrf_token": "c",
        "flow_id": "f",
        "method": "totp",
        "enrollment_id": "e1",
        "method_label": "Phone app",
        "delivers_code": False,
        "others": OTHERS,
        "remember_days": 30,
        "notice": None,
        "error": None,
        "field_errors": {},
    },
    "mfa_enroll_choose.html": {
        "kinds": [{"kind": k, "url": f"/t/acme/mfa/enroll/{k}"} for k in KINDS[:3]],
        "required": True,
        "csrf_token": "c",
        "flow_id": "f",
    },
    "mfa_enroll_totp.html": {
        "action_url": "/t/acme/mfa/enroll/totp",
        "qr_svg": '<svg width="10" height="10"></svg>',
        "secret": "ABCD EFGH",
        "otpauth_uri": "otpauth://totp/Acme:a?secret=ABCDEFGH",
        "enrollment_id": "e1",
        "challenge_id": "c1",
        "csrf_token": "c",
        "flow_id": "",
        "error": None,
        "field_errors": {},
    },
    "mfa_enroll_target.html": {
        "action_url": "/x",
        "kind": "sms_otp",
        "email": "a@example.com",
        "phone_number": "",
        "csrf_token": "c",
        "flow_id": "",
        "error": None,
        "field_errors": {},
    },
    "mfa_enroll_code.html": {
        "action_url": "/x",
        "kind": "email_otp",
        "target": "a•••@example.com",
        "enrollment_id": "e1",
        "challenge_id": "c1",
        "notice": "mfa.notice.code_sent",
        "csrf_token": "c",
        "flow_id": "",
        "error": None,
        "field_errors": {},
    },
    "mfa_recovery_codes.html": {
        "codes": ["abcde-fghjk"] * 10,
        "continue_url": "/t/acme/mfa/continue",
        "factors_url": "/t/acme/mfa/factors",
        "csrf_token": "c",
        "flow_id": "f",
    },
    "mfa_factors.html": {
        "action_url": "/t/acme/mfa/factors",
        "csrf_token": "c",
        "user_email": "a@example.com",
        "factors": [{"id": "e1", "kind": "totp", "label": "Phone", "last_used_at": 0}],
        "recovery_left": 9,
        "enroll": [{"kind": "sms_otp", "url": "/t/acme/mfa/enroll/sms_otp"}],
        "mode": "optional",
        "error": None,
        "field_errors": {},
    },
}


@pytest.mark.parametrize("locale", ["en", "de", "fr"])
@pytest.mark.parametrize("template", sorted(PAGES))
def test_mfa_pages_render_accessibly_without_scripts(template: str, locale: str) -> None:
    html = render(template, locale, **PAGES[template])
    page = Page(html)
    assert page.one("html").get("lang") == locale
    assert len(page.find("h1")) == 1
    assert not page.find("script")
    assert all("style" not in e.attrs for e in page.elements)
    assert "mfa." not in page.text, page.text
    assert all(e.get("id") for e in page.find("input") if e.get("type") not in ("hidden",))


def test_kind_dependent_keys_exist_in_every_locale() -> None:
    prefixes = ("mfa.challenge.intro.", "mfa.code_label.", "mfa.use.", "mfa.kind.")
    for locale in i18n.SUPPORTED_LOCALES:
        for kind in KINDS:
            for prefix in prefixes:
                assert f"{prefix}{kind}" in i18n.MESSAGES[locale], (locale, prefix, kind)
        for kind in KINDS[:3]:
            assert f"mfa.enroll.{kind}" in i18n.MESSAGES[locale]


def test_hostile_labels_are_escaped() -> None:
    context = dict(PAGES["mfa_factors.html"])
    context["factors"] = [{"id": "e1", "kind": "totp", "label": '<script>alert("x")</script>', "last_used_at": 0}]
    html = render("mfa_factors.html", "en", **context)
    assert "<script>" not in html and "&lt;script&gt;" in html
