"""URLs of the self-service pages, for the login page (kept free of imports from the rest of this package)."""

from __future__ import annotations

from chalicelib.core.ids import TenantId
from chalicelib.web.http import with_query
from chalicelib.web.oidc import urls


def register_url(tenant_id: TenantId, flow_id: str | None) -> str:
    """The registration page, carrying the sealed sign-in flow so the user returns to the application."""
    return with_query(urls.page(tenant_id, "register"), {"flow": flow_id})


def forgot_url(tenant_id: TenantId) -> str:
    return urls.page(tenant_id, "password/forgot")


def resend_url(tenant_id: TenantId) -> str:
    return urls.page(tenant_id, "verification/resend")
