"""Transactional email composition: text and HTML parts, tenant branding, escaping, validity wording."""

from __future__ import annotations

import pytest

from chalicelib.services.emails import SPECS, branding_of, compose, validity

BRANDING = branding_of({"display_name": "Acme <Shop>", "primary_color": "#ffdd00", "logo_url": "http://x/l.png"}, "x")
LINK = "https://id.example.com/t/acme/verify?token=abc.def&x=1"


def test_branding_is_made_safe() -> None:
    assert BRANDING == {"name": "Acme <Shop>", "color": "#ffdd00", "on_color": "#000000", "logo_url": ""}
    assert branding_of({"primary_color": "red"}, "Fallback")["color"] == "#2f5bea"
    assert branding_of({}, "Fallback")["name"] == "Fallback"


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_message_has_text_and_html(kind: str) -> None:
    subject, text, html = compose(kind, BRANDING, link=LINK, validity_seconds=3600, email="a@b.co", new_email="n@b.co")
    assert subject and "{" not in subject and "{" not in text
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()
    assert "Acme &lt;Shop&gt;" in html and "Acme <Shop>" in text
    if SPECS[kind].action:
        assert LINK in text and LINK.replace("&", "&amp;") in html


def test_verification_mail_says_how_long_the_link_works() -> None:
    _, text, _ = compose("verify_email", BRANDING, link=LINK, validity_seconds=86400)
    assert "expires in 24 hours" in text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (3600, "1 hour"),
        (86400, "24 hours"),
        (172800, "2 days"),
        (7 * 86400, "7 days"),
    ],
)
def test_validity(seconds: int, words: str) -> None:
    assert validity(seconds) == words
