"""Admin API for the tenant's provisioning webhook: ``/t/{tenant}/admin/webhook`` (GET the URL; PUT ``{"url"}``
sets it with a fresh HMAC secret, answered once; DELETE). The webhook is tenant-wide, so only an admin of the
customer root may manage it (403 below it). Writes are audited; the secret never appears in an event."""

from __future__ import annotations

from chalicelib import container
from chalicelib.core.errors import Forbidden, InvalidInput
from chalicelib.web.admin.nodes import NO_STORE, authorize_admin_actor
from chalicelib.web.audit import audited
from chalicelib.web.errors import InvalidRequest, admin_endpoint
from chalicelib.web.http import HttpRequest, HttpResponse, json_response


@admin_endpoint
def webhook_endpoint(request: HttpRequest, tenant: str) -> HttpResponse:
    tree, scope, actor = authorize_admin_actor(request, tenant)
    if scope.node_id != tree.root.node_id:
        raise Forbidden("Only an admin of the whole tenant manages its webhook.")
    service = container.webhooks()
    if request.method == "GET":
        webhook = service.get(tree.tenant_id)
        return json_response({"url": webhook.url if webhook else None}, 200, NO_STORE)
    if request.method == "PUT":
        with audited(actor, "admin.webhook.set", "provisioning") as note:
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("url"), str):
                raise InvalidInput("The webhook needs a url.", fields={"url": "required"})
            webhook, secret = service.set(tree.tenant_id, body["url"])
            note.details = {"url": webhook.url}
        return json_response({"url": webhook.url, "secret": secret}, 200, NO_STORE)
    if request.method == "DELETE":
        with audited(actor, "admin.webhook.delete", "provisioning"):
            service.delete(tree.tenant_id)
        return HttpResponse(204, "", dict(NO_STORE))
    raise InvalidRequest("Use GET, PUT or DELETE.", status=405)
