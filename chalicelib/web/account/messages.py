"""Labels of the account portal (its strings live in ``web/pages/account_messages.py``)."""

from __future__ import annotations

from chalicelib.web.pages.i18n import translate


def attribute_label(name: str, locale: str = "en") -> str:
    known = translate(locale, f"attribute.{name}")
    return known if known != f"attribute.{name}" else name.replace("_", " ").capitalize()
