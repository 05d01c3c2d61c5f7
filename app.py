"""Gatehouse: the Chalice application. Routes and Lambda function declarations only; all logic is in chalicelib.

Every route hands the request to a protocol handler through ``view``, which translates Chalice's request and
response and guarantees the protocol's own error format (handlers are wrapped by their protocol's decorator).
"""

from chalice.app import Chalice, Response

from chalicelib.web.chalice_adapter import view
from chalicelib.web.local_pages import callback_endpoint, outbox_endpoint
from chalicelib.web.oidc.authorize import authorize_endpoint
from chalicelib.web.oidc.discovery import discovery_endpoint, jwks_endpoint
from chalicelib.web.oidc.logout import logout_endpoint
from chalicelib.web.oidc.resources import introspection_endpoint, revocation_endpoint, userinfo_endpoint
from chalicelib.web.oidc.signin import consent_endpoint, login_endpoint
from chalicelib.web.oidc.token import token_endpoint

app = Chalice(app_name="gatehouse")
app.debug = False

# Chalice answers 415 itself for content types a route does not list; list the ones clients send so that a
# wrong one reaches the handler and gets the protocol's own error.
BODY_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "multipart/form-data",
    "application/octet-stream",
]


@app.route("/t/{tenant}/.well-known/openid-configuration", methods=["GET"])
def discovery(tenant: str) -> Response:
    return view(discovery_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/.well-known/jwks.json", methods=["GET"])
def jwks(tenant: str) -> Response:
    return view(jwks_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/authorize", methods=["GET", "POST"], content_types=BODY_TYPES)
def authorize(tenant: str) -> Response:
    return view(authorize_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/login", methods=["POST"], content_types=BODY_TYPES)
def login(tenant: str) -> Response:
    return view(login_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/consent", methods=["POST"], content_types=BODY_TYPES)
def consent(tenant: str) -> Response:
    return view(consent_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/token", methods=["POST"], content_types=BODY_TYPES)
def token(tenant: str) -> Response:
    return view(token_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/userinfo", methods=["GET", "POST"], content_types=BODY_TYPES)
def userinfo(tenant: str) -> Response:
    return view(userinfo_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/revoke", methods=["POST"], content_types=BODY_TYPES)
def revoke(tenant: str) -> Response:
    return view(revocation_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/introspect", methods=["POST"], content_types=BODY_TYPES)
def introspect(tenant: str) -> Response:
    return view(introspection_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/logout", methods=["GET", "POST"], content_types=BODY_TYPES)
def logout(tenant: str) -> Response:
    return view(logout_endpoint)(app.current_request, tenant)


@app.route("/_local/outbox", methods=["GET"])
def local_outbox() -> Response:
    return view(outbox_endpoint)(app.current_request)


@app.route("/_local/callback", methods=["GET"])
def local_callback() -> Response:
    return view(callback_endpoint)(app.current_request)
