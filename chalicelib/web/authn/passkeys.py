"""Passkey registration for a signed-in app user (``/t/{tenant}/authn/passkeys``, Bearer access token).

``POST /authn/passkeys`` returns the WebAuthn creation options (``public_key``) for the platform authenticator;
``POST /authn/passkeys/verify`` with the ``challenge_id`` and the attestation ``credential`` activates the
passkey. When the user already has a second factor, the token must come from a sign-in that used one.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import container
from chalicelib.core.entities import User
from chalicelib.core.errors import InvalidInput, TokenInvalid
from chalicelib.core.ids import TenantId
from chalicelib.services.mfa import webauthn
from chalicelib.services.mfa.service import usable_kinds
from chalicelib.services.sessions import ACR_MFA
from chalicelib.web.audit import origin_of
from chalicelib.web.authn.errors import StepUpRequired, authn_flow_endpoint
from chalicelib.web.errors import NO_STORE
from chalicelib.web.http import HttpRequest, HttpResponse, json_response
from chalicelib.web.oidc.pages import branding_for
from chalicelib.web.oidc.resources import bearer_token


def _signed_in(http: HttpRequest, tenant_id: TenantId) -> User:
    claims, user = container.authorization().validate_access_token(tenant_id, bearer_token(http), need_user=True)
    if user is None:
        raise TokenInvalid(detail="no user behind the token")
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    if usable_kinds(user, settings) and claims.get("acr") != ACR_MFA:
        raise StepUpRequired(detail="token without a second factor")
    return user


def _body(http: HttpRequest) -> dict[str, Any]:
    data = http.json()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


@authn_flow_endpoint
def register_passkey(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    user = _signed_in(http, tenant_id)
    label = _body(http).get("label") or ""
    if not isinstance(label, str) or len(label) > 64:
        raise InvalidInput("'label' must be a string of at most 64 characters.", fields={"label": "invalid"})
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    challenge, options = container.passkeys().begin(
        tenant_id, user, settings, rp_name=branding_for(tenant_id)["display_name"], label=label
    )
    body = {"challenge_id": challenge.challenge_id, "public_key": options, "expires_in": 600}
    return json_response(body, 200, dict(NO_STORE))


@authn_flow_endpoint
def verify_passkey(http: HttpRequest, tenant: str) -> HttpResponse:
    tenant_id = container.tenants().tree(tenant).tenant_id
    user = _signed_in(http, tenant_id)
    data = _body(http)
    challenge_id, credential = data.get("challenge_id"), data.get("credential")
    if not isinstance(challenge_id, str) or not 8 <= len(challenge_id) <= 64:
        raise InvalidInput("'challenge_id' is required.", fields={"challenge_id": "required"})
    if not isinstance(credential, dict):
        raise InvalidInput("'credential' must be the attestation as a JSON object.", fields={"credential": "required"})
    raw = json.dumps(credential)
    if len(raw) > webauthn.MAX_CREDENTIAL_JSON:
        raise InvalidInput("'credential' is too large.", fields={"credential": "too_long"})
    settings = container.tenants().effective(tenant_id, user.tier_node_id)
    verified = container.passkeys().finish(tenant_id, user, challenge_id, raw, settings, origin=origin_of(http))
    body: dict[str, Any] = {"status": "registered", "id": verified.enrollment.enrollment_id}
    if verified.recovery_codes:
        body["recovery_codes"] = list(verified.recovery_codes)
    return json_response(body, 201, dict(NO_STORE))
