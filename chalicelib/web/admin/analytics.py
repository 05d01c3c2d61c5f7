"""Identity analytics for tenant admins: ``GET /t/{tenant}/admin/analytics`` (JSON; ``days`` 1-90, ``node`` slug or
``client`` id to narrow the scope) and ``/t/{tenant}/admin/dashboard``, a hosted page with server-rendered SVG
charts (no script, no CDN): the admin pastes an admin access token into its form (POST, never in a URL).

An organization's admin sees its own node (and can narrow to a node or client below it); only the customer's
admin sees the tenant-wide figures.
"""

from __future__ import annotations

import html
import json
from typing import Any

from chalicelib import container
from chalicelib.core.errors import Forbidden, InvalidInput
from chalicelib.core.ids import ClientId
from chalicelib.services.analytics import ALL, DayReport
from chalicelib.web.admin.access import NO_STORE, AdminAccess, authorize
from chalicelib.web.errors import InvalidRequest, admin_endpoint, page_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, html_response, json_response, single
from chalicelib.web.oidc.pages import error_page

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
        return html_response(_page(tenant, None, None))
    form = request.form()
    token = single(form, "token") or ""
    if not token:
        return html_response(_page(tenant, None, "Paste an admin access token."), 400)
    authorized = HttpRequest(
        "GET", request.path_params, {}, {**request.headers, "authorization": f"Bearer {token}"}, b"", request.source_ip
    )
    response = analytics_endpoint(authorized, tenant)
    if response.status != 200:
        message = json.loads(response.body).get("error_description", "The token was refused.")
        return html_response(_page(tenant, None, str(message)), response.status)
    return html_response(_page(tenant, json.loads(response.body), None))


# --- rendering ------------------------------------------------------------------------------------------------


def bar_chart(title: str, points: list[tuple[str, int]], color: str = "#2f5bea") -> str:
    """A bar chart as inline SVG (labels and values escaped)."""
    width, height, pad = 640, 200, 28
    top = max([v for _, v in points] + [1])
    bar = (width - 2 * pad) / max(len(points), 1)
    parts = [f'<figure><figcaption>{html.escape(title)}</figcaption><svg role="img" viewBox="0 0 {width} {height}"',
             f' width="100%" aria-label="{html.escape(title)}">']  # fmt: skip
    for index, (label, value) in enumerate(points):
        h = (height - 2 * pad) * value / top
        x = pad + index * bar
        y = height - pad - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(bar - 4, 1):.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{html.escape(label)}: {value}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{height - 8}" font-size="10" text-anchor="middle">'
            f"{html.escape(label[5:])}</text>"
            f'<text x="{x + bar / 2:.1f}" y="{max(y - 4, 10):.1f}" font-size="11" text-anchor="middle">{value}</text>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _table(title: str, rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows.items())
    return f"<h2>{html.escape(title)}</h2><table>{body or '<tr><td>none</td></tr>'}</table>"


def _page(tenant: str, report: dict[str, Any] | None, error: str | None) -> str:
    name = html.escape(tenant[:64])
    form = (
        f'<form method="post" action="/t/{name}/admin/dashboard"><label>Admin access token '
        '<input name="token" type="password" autocomplete="off" required></label> <button>Show</button></form>'
    )
    content = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    if report is not None:
        days = report["days"]
        s = report["summary"]
        content += bar_chart("Sign-ins per day", [(d["day"], d["signins"]) for d in days])
        content += bar_chart("Active users per day", [(d["day"], d["active_users"]) for d in days], "#1b7f5a")
        content += bar_chart("Failed sign-ins per day", [(d["day"], d["failures"]) for d in days], "#b3261e")
        headline = {
            "sign-ins": s["signins"],
            "failures": s["failures"],
            "new registrations": s["registrations"],
            "local / federated sign-ins": f"{s['local_signins']} / {s['federated_signins']}",
            "MFA adoption (sign-ins with a second factor)": f"{s['mfa_adoption'] * 100:.0f}%",
            "fraud blocks": s["fraud_blocks"],
        }
        content += _table(f"Last {len(days)} days ({report['scope']})", headline)
        content += _table("Failures by reason", s["failures_by_reason"])
        content += _table("Top risk signals", s["top_risk_signals"])
        content += _table("Risk decisions", s["decisions"])
    style = (
        "body{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#1b1b1f}"
        "table{border-collapse:collapse;margin-bottom:1rem}th,td{padding:.25rem .75rem;border-bottom:1px solid #ddd;"
        "text-align:left}figure{margin:1rem 0}figcaption{font-weight:600}.error{color:#b3261e}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard – {name}</title>'
        f"<style>{style}</style></head><body><h1>Identity dashboard: {name}</h1>{form}{content}</body></html>"
    )


dashboard_endpoint = page_endpoint(error_page)(_dashboard)
