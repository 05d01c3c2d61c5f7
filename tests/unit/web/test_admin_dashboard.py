"""The admin dashboard page: bar-chart geometry, the template in every locale (accessible, no script, escaped), and
the catalog keys it builds at run time."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.web.admin.analytics import dashboard_report
from chalicelib.web.admin.charts import CHART_HEIGHT, CHART_PADDING, bar_chart
from chalicelib.web.pages import i18n
from tests.unit.web.test_pages import HOSTILE, Page, render

DAYS = [
    {"day": "2026-11-22", "signins": 1, "failures": 0, "active_users": 1},
    {"day": "2026-11-23", "signins": 3, "failures": 2, "active_users": 2},
]
SUMMARY = {
    "signins": 4,
    "failures": 2,
    "registrations": 1,
    "local_signins": 3,
    "federated_signins": 1,
    "mfa_adoption": 0.25,
    "fraud_blocks": 0,
    "failures_by_reason": {"invalid_credentials": 2},
    "top_risk_signals": {"new_device": 2},
    "decisions": {"allow": 4},
}


def dashboard(locale: str = "en", **overrides: Any) -> str:
    context: dict[str, Any] = {
        "tenant": "acme",
        "action_url": "/t/acme/admin/dashboard",
        "error": None,
        "report": dashboard_report({"scope": "tenant", "days": DAYS, "summary": SUMMARY}),
    }
    context.update(overrides)
    return render("admin_dashboard.html", locale, **context)


def test_bars_scale_to_the_largest_value() -> None:
    chart = bar_chart("dashboard.chart.signins", [("2026-11-22", 1), ("2026-11-23", 4), ("2026-11-24", 0)])
    plot_height = CHART_HEIGHT - 2 * CHART_PADDING
    one, four, zero = chart.bars
    assert four.height == plot_height and four.y == CHART_PADDING
    assert one.height == plot_height / 4 and one.y + one.height == CHART_HEIGHT - CHART_PADDING
    assert zero.height == 0 and zero.y == CHART_HEIGHT - CHART_PADDING
    assert one.x < four.x < zero.x and one.width == four.width > 0
    assert [bar.short_label for bar in chart.bars] == ["11-22", "11-23", "11-24"]


def test_a_chart_without_days_or_sign_ins_has_no_division_by_zero() -> None:
    assert bar_chart("dashboard.chart.signins", []).bars == ()
    (bar,) = bar_chart("dashboard.chart.signins", [("2026-11-23", 0)]).bars
    assert bar.height == 0


@pytest.mark.parametrize("locale", ["en", "de", "fr"])
def test_the_dashboard_renders_as_accessible_html5(locale: str) -> None:
    html = dashboard(locale)
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>") and page.one("html").get("lang") == locale
    assert len(page.find("h1")) == 1 and "acme" in page.text
    assert len(page.find("svg")) == 3 and len(page.find("rect")) == 6
    assert all(svg.get("aria-label") for svg in page.find("svg"))
    assert not page.find("script") and not page.find("link")
    assert all("style" not in e.attrs for e in page.elements), "no style attributes (CSP)"
    assert all(not k.startswith("on") for e in page.elements for k in e.attrs), "no inline event handlers"
    assert "dashboard." not in page.text, "every catalog key is translated"
    assert "2026-11-23: 3</title>" in html and "2026-11-23: 2</title>" in html


def test_the_dashboard_differs_by_locale_and_shows_the_summary() -> None:
    english, german = Page(dashboard("en")).text, Page(dashboard("de")).text
    assert "Sign-ins per day" in english and "Anmeldungen pro Tag" in german
    assert "Last 2 days (tenant)" in english and "3 / 1" in english and "25%" in english
    assert "invalid_credentials 2" in english and "new_device 2" in english and "allow 4" in english


def test_the_token_form_posts_a_password_field_and_shows_no_charts_without_a_report() -> None:
    page = Page(dashboard(report=None, error="The token was refused."))
    form = page.one("form")
    assert (form.get("method"), form.get("action")) == ("post", "/t/acme/admin/dashboard")
    field = page.one("input", name="token")
    assert (field.get("type"), field.get("autocomplete")) == ("password", "off")
    assert page.one("label", **{"for": "token"})
    assert not page.find("svg") and not page.find("table")
    assert page.one("p", id="error") and "The token was refused." in page.text


def test_hostile_tenant_names_labels_and_errors_are_escaped() -> None:
    summary = {**SUMMARY, "failures_by_reason": {HOSTILE: 1}, "top_risk_signals": {HOSTILE: 1}}
    report = dashboard_report({"scope": HOSTILE, "days": [{**DAYS[0], "day": HOSTILE}], "summary": summary})
    html = dashboard(tenant=HOSTILE, error=HOSTILE, report=report, action_url="javascript:alert(1)")
    assert "<script>" not in html and not Page(html).find("script")
    assert Page(html).one("form").get("action") == "#"


def test_every_key_the_dashboard_builds_at_run_time_is_in_every_catalog() -> None:
    report = dashboard_report({"scope": "tenant", "days": DAYS, "summary": SUMMARY})
    keys = [chart.title for chart in report["charts"]] + [key for key, _ in report["headline"]]
    for locale in i18n.SUPPORTED_LOCALES:
        assert all(key in i18n.MESSAGES[locale] for key in keys), locale
