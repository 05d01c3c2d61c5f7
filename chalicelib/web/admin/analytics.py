"""Identity analytics for tenant admins: ``GET /t/{tenant}/admin/analytics`` (JSON; ``days`` 1-90, ``node`` slug or
``client`` id to narrow the scope) and ``/t/{tenant}/admin/dashboard``, a hosted page (``admin_dashboard.html``,
en/de/fr) with server-rendered SVG charts (no script, no CDN): the admin pastes an admin access token into its form
(POST, never in a URL).

An organization's admin sees its own node (and can narrow to a node or client below it); only the customer's
admin sees the tenant-wide figures.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from chalicelib import container
from chalicelib.core.errors import Forbidden, InvalidInput
from chalicelib.core.ids import ClientId, TenantId
from chalicelib.services.analytics import ALL, DayReport
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.admin.charts import bar_chart
from chalicelib.web.errors import InvalidRequest, admin_endpoint, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, html_response, json_response, single
from chalicelib.web.oidc.pages import branding_for, error_page, locale_for
from chalicelib.web.pages.i18n import translate
from chalicelib.web.pages.render import render_page

TOP_SIGNALS = 5


def _scope(access: AdminAccess, params: dict[str, list[str]]) -> str:
    node, client_id = single(params, "node"), single(params, "client")
    if node and client_id:
        raise InvalidInput("Use node or client, not both.", fields={"node": "invalid"})
    if client_id:
        client = container.clients().get(access.tree.tenant_id, ClientId(client_id[:128]))
        if client is None or not access.covers(client.tier_node_id):
            raise Forbidden(f"You do not administer the client '{client_id[:64]}'.")
        return f"CLIENT#{client.client_id}"
    if node:
        return f"NODE#{access.node(node).node_id}"
    return ALL if access.whole_tenant else f"NODE#{access.node_or_home(None).node_id}"


def _days(params: dict[str, list[str]]) -> int:
    text = single(params, "days") or "7"
    if not text.isdigit() or len(text) > 3:
        raise InvalidInput("days must be a number.", fields={"days": "invalid"})
    return int(text)


def summary(reports: list[DayReport]) -> dict[str, Any]:
    totals: dict[str, int] = {}
    for report in reports:
        for metric, value in report.counters.items():
            totals[metric] = totals.get(metric, 0) + value
    signins = totals.get("signins", 0)
    signals = sorted(((k[7:], v) for k, v in totals.items() if k.startswith("signal:")), key=lambda kv: -kv[1])
    return {
        "signins": signins,
        "failures": totals.get("failures", 0),
        "failures_by_reason": {k[8:]: v for k, v in totals.items() if k.startswith("failure:")},
        "registrations": totals.get("registrations", 0),
        "federated_signins": totals.get("signins_federated", 0),
        "local_signins": totals.get("signins_local", 0),
        "mfa_signins": totals.get("signins_mfa", 0),
        "mfa_adoption": round(totals.get("signins_mfa", 0) / signins, 3) if signins else 0.0,
        "decisions": {k[9:]: v for k, v in totals.items() if k.startswith("decision:")},
        "top_risk_signals": dict(signals[:TOP_SIGNALS]),
        "fraud_blocks": totals.get("fraud_blocks", 0),
    }


def _report(request: HttpRequest, tenant: str, params: dict[str, list[str]]) -> dict[str, Any]:
    access = authorize(request, tenant)
    tree = access.tree
    scope = _scope(access, params)
    reports = container.analytics().report(tree.tenant_id, days=_days(params), scope=scope)
    return {
        "scope": scope.replace("#", ":").lower() if scope != ALL else "tenant",
        "days": [
            {
                "day": r.day,
                "signins": r.counters.get("signins", 0),
                "failures": r.counters.get("failures", 0),
                "active_users": r.active_users,
                "registrations": r.counters.get("registrations", 0),
                "counters": r.counters,
            }
            for r in reports
        ],
        "summary": summary(reports),
    }


@admin_endpoint
def analytics_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    if request.method != "GET":
        raise InvalidRequest("Use GET.", status=405)
    return json_response(_report(request, tenant, request.query), 200, NO_STORE)


def _dashboard(request: HttpRequest, tenant: str) -> HttpResponse:
    """The hosted dashboard: a token form (GET), the charts (POST with the token)."""
    if request.method == "GET":
        return _page(request, tenant, None, None)
    form = request.form()
    token = single(form, "token") or ""
    if not token:
        return _page(request, tenant, None, "dashboard.error.token_required", 400)
    authorized = HttpRequest(
        "GET", request.path_params, {}, {**request.headers, "authorization": f"Bearer {token}"}, b"", request.source_ip
    )
    response = analytics_endpoint(authorized, tenant)
    if response.status != 200:
        message = json.loads(response.body).get("error_description", "The token was refused.")
        return _page(request, tenant, None, str(message), response.status)
    return _page(request, tenant, json.loads(response.body), None)


# --- rendering ------------------------------------------------------------------------------------------------

# The page's own CSP: html_response's, but forms may only post back here (the token form is the only one).
DASHBOARD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def dashboard_report(report: dict[str, Any]) -> dict[str, Any]:
    """What ``admin_dashboard.html`` shows of an analytics report (``_report``): charts and summary tables."""
    days, s = report["days"], report["summary"]
    return {
        "charts": [
            bar_chart("dashboard.chart.signins", [(d["day"], d["signins"]) for d in days]),
            bar_chart("dashboard.chart.active_users", [(d["day"], d["active_users"]) for d in days], "#1b7f5a"),
            bar_chart("dashboard.chart.failures", [(d["day"], d["failures"]) for d in days], "#b3261e"),
        ],
        "period_days": len(days),
        "scope": report["scope"],
        "headline": [
            ("dashboard.summary.signins", s["signins"]),
            ("dashboard.summary.failures", s["failures"]),
            ("dashboard.summary.registrations", s["registrations"]),
            ("dashboard.summary.local_federated", f"{s['local_signins']} / {s['federated_signins']}"),
            ("dashboard.summary.mfa_adoption", f"{s['mfa_adoption'] * 100:.0f}%"),
            ("dashboard.summary.fraud_blocks", s["fraud_blocks"]),
        ],
        "failures_by_reason": list(s["failures_by_reason"].items()),
        "top_risk_signals": list(s["top_risk_signals"].items()),
        "decisions": list(s["decisions"].items()),
    }


def _page(
    request: HttpRequest, tenant: str, report: dict[str, Any] | None, error: str | None, status: int = 200
) -> HttpResponse:
    """The dashboard page in the admin's language; ``error`` is a catalog key or a message of the analytics API."""
    locale = locale_for(request)
    name = tenant[:64]
    html = render_page(
        "admin_dashboard.html",
        locale=locale,
        branding=branding_for(TenantId(name)),
        tenant=name,
        action_url=f"/t/{quote(name, safe='')}/admin/dashboard",
        error=translate(locale, error) if error else None,
        report=dashboard_report(report) if report is not None else None,
    )
    return html_response(html, status, {"Content-Security-Policy": DASHBOARD_CSP})


dashboard_endpoint = page_endpoint(error_page)(_dashboard)
