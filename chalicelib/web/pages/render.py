"""Rendering of the hosted pages with Jinja2.

``render_page`` is the only entry point. Jinja2 is imported lazily by the cached environment factory, so importing
this module adds nothing to a Lambda cold start; the first render pays for it once per container.

Every template receives, besides its own context: ``locale``; ``_`` (``translate`` bound to the page locale, with
``**kwargs`` formatting); ``describe_scope`` (bound likewise); and ``branding``, the tenant's branding normalised
here: ``display_name`` (never empty), ``primary_color`` (a valid ``#rrggbb``, else the default), ``logo_url`` (an
``http(s)`` URL or ""), plus the derived ``on_primary`` (black or white text for buttons) and ``accent_color`` (the
brand colour darkened until it reaches 4.5:1 on white, for links and focus rings).
The ``href`` filter neutralises non-HTTP(S) URLs (``javascript:`` and friends) in links and form actions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from chalicelib.web.pages import i18n

if TYPE_CHECKING:
    import jinja2

TEMPLATE_DIR: Final = Path(__file__).resolve().parent / "templates"
DEFAULT_PRIMARY_COLOR: Final = "#2f5bea"

_HEX_COLOR: Final = re.compile(r"#[0-9a-fA-F]{6}")
_URL_SCHEMES: Final = frozenset({"", "http", "https"})
_LOGO_SCHEMES: Final = frozenset({"http", "https"})
_BLOCKED_URL: Final = "#"
_MIN_TEXT_CONTRAST: Final = 4.5  # WCAG 2 AA, normal text
_SRGB_LINEAR_LIMIT: Final = 0.04045  # sRGB transfer function breakpoint (WCAG relative luminance)
_WHITE: Final = "#ffffff"
_BLACK: Final = "#000000"


def render_page(template: str, *, locale: str, branding: Mapping[str, str], **context: object) -> str:
    """Render the hosted page ``template`` (``"login.html"`` or ``"login"``) in ``locale`` with tenant ``branding``."""
    page_locale = locale if locale in i18n.SUPPORTED_LOCALES else i18n.DEFAULT_LOCALE
    variables: dict[str, object] = {
        **context,
        "locale": page_locale,
        "branding": normalize_branding(branding, page_locale),
        "_": functools.partial(i18n.translate, page_locale),
        "describe_scope": functools.partial(i18n.describe_scope, page_locale),
    }
    return _environment().get_template(_template_name(template)).render(variables)


def normalize_branding(branding: Mapping[str, object], locale: str) -> dict[str, str]:
    """Tenant branding made safe to render (tenant settings are untrusted input)."""
    color = valid_color(branding.get("primary_color"))
    display_name = _text(branding.get("display_name")).strip()
    return {
        "display_name": display_name or i18n.translate(locale, "brand.fallback_name"),
        "primary_color": color,
        "on_primary": _text_color_on(color),
        "accent_color": _accent_color(color),
        "logo_url": _logo_url(branding.get("logo_url")),
    }


def valid_color(value: object) -> str:
    """``value`` lower-cased if it is a ``#rrggbb`` colour, else the default brand colour."""
    if isinstance(value, str) and _HEX_COLOR.fullmatch(value.strip()):
        return value.strip().lower()
    return DEFAULT_PRIMARY_COLOR


def href(value: object) -> str:
    """A URL for ``href``/``action``: relative or ``http(s)``; anything else (``javascript:``, ``data:``) -> ``#``."""
    url = _text(value).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return _BLOCKED_URL
    return url if scheme in _URL_SCHEMES else _BLOCKED_URL


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the Lambda package; skip the per-render stat()
    )
    environment.filters["href"] = href
    environment.filters["isotime"] = isotime
    return environment


def isotime(epoch: object) -> str:
    """Epoch seconds as ``2026-01-31 14:05 UTC`` (account pages)."""
    import datetime as dt

    if not isinstance(epoch, int) or epoch <= 0:
        return ""
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _template_name(template: str) -> str:
    return template if template.endswith(".html") else f"{template}.html"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _logo_url(value: object) -> str:
    url = _text(value).strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in _LOGO_SCHEMES else ""


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _relative_luminance(color: str) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= _SRGB_LINEAR_LIMIT else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in _channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _text_color_on(background: str) -> str:
    """White or black, whichever contrasts more with ``background`` (always at least 4.5:1)."""
    return _WHITE if contrast_ratio(background, _WHITE) >= contrast_ratio(background, _BLACK) else _BLACK


def _accent_color(color: str) -> str:
    """``color`` darkened step by step until it reads as text on a white page."""
    r, g, b = _channels(color)
    candidate = color
    while contrast_ratio(candidate, _WHITE) < _MIN_TEXT_CONTRAST:
        r, g, b = (int(channel * 0.9) for channel in (r, g, b))
        candidate = f"#{r:02x}{g:02x}{b:02x}"
    return candidate
