"""Gatehouse: the Chalice application. Routes and Lambda function declarations only; all logic is in chalicelib.

Every route hands the request to a protocol handler through ``view``, which translates Chalice's request and
response and guarantees the protocol's own error format (handlers are wrapped by their protocol's decorator).

Cold start: each route (and each Lambda task) imports its handler module inside the function, so a cold Lambda
imports only what the route it serves needs (``tests/unit/test_architecture.py`` checks). A new route follows the
same shape; module level keeps only Chalice, ``view`` and constants needed by the decorators::

    @app.route("/t/{tenant}/example", methods=["GET"], content_types=BODY_TYPES)
    def example(tenant: str) -> Response:
        from chalicelib.web.example import example_endpoint

        return view(example_endpoint)(app.current_request, tenant)
"""

from chalice.app import Chalice, CORSConfig, DynamoDBEvent, Response

from chalicelib.web.chalice_adapter import view
from chalicelib.workflows.event_sources import AUDIT_STREAM_ARN

app = Chalice(app_name="gatehouse")
app.debug = False

# Chalice answers 415 (and 405) itself, in its own format; accept every content type and method the protocol
# might see so that a wrong one reaches the handler and gets the protocol's own error.
BODY_TYPES = ["*/*"]
# Browser-based public clients (SPAs) call these cross-origin; no cookies are involved, so any origin may.
PUBLIC_CORS = CORSConfig(allow_origin="*", expose_headers=["WWW-Authenticate"], max_age=600)


@app.route("/t/{tenant}/.well-known/openid-configuration", methods=["GET"], cors=PUBLIC_CORS)
def discovery(tenant: str) -> Response:
    from chalicelib.web.oidc.discovery import discovery_endpoint

    return view(discovery_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/.well-known/jwks.json", methods=["GET"], cors=PUBLIC_CORS)
def jwks(tenant: str) -> Response:
    from chalicelib.web.oidc.discovery import jwks_endpoint

    return view(jwks_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/authorize", methods=["GET", "POST"], content_types=BODY_TYPES)
def authorize(tenant: str) -> Response:
    from chalicelib.web.oidc.authorize import authorize_endpoint

    return view(authorize_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/login", methods=["POST"], content_types=BODY_TYPES)
def login(tenant: str) -> Response:
    from chalicelib.web.oidc.signin import login_endpoint

    return view(login_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/consent", methods=["POST"], content_types=BODY_TYPES)
def consent(tenant: str) -> Response:
    from chalicelib.web.oidc.signin import consent_endpoint

    return view(consent_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/token", methods=["GET", "POST"], content_types=BODY_TYPES, cors=PUBLIC_CORS)
def token(tenant: str) -> Response:
    from chalicelib.web.oidc.token import token_endpoint

    return view(token_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/userinfo", methods=["GET", "POST"], content_types=BODY_TYPES, cors=PUBLIC_CORS)
def userinfo(tenant: str) -> Response:
    from chalicelib.web.oidc.resources import userinfo_endpoint

    return view(userinfo_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/revoke", methods=["GET", "POST"], content_types=BODY_TYPES, cors=PUBLIC_CORS)
def revoke(tenant: str) -> Response:
    from chalicelib.web.oidc.resources import revocation_endpoint

    return view(revocation_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/introspect", methods=["GET", "POST"], content_types=BODY_TYPES)
def introspect(tenant: str) -> Response:
    from chalicelib.web.oidc.resources import introspection_endpoint

    return view(introspection_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/logout", methods=["GET", "POST"], content_types=BODY_TYPES)
def logout(tenant: str) -> Response:
    from chalicelib.web.oidc.logout import logout_endpoint

    return view(logout_endpoint)(app.current_request, tenant)


@app.route("/_local/outbox", methods=["GET"])
def local_outbox() -> Response:
    from chalicelib.web.local_pages import outbox_endpoint

    return view(outbox_endpoint)(app.current_request)


@app.route("/_local/callback", methods=["GET"])
def local_callback() -> Response:
    from chalicelib.web.local_pages import callback_endpoint

    return view(callback_endpoint)(app.current_request)


# --- self-service: registration, email verification, invitations, recovery, email change (hosted pages) ---------


@app.route("/t/{tenant}/register", methods=["GET", "POST"], content_types=BODY_TYPES)
def register(tenant: str) -> Response:
    from chalicelib.web.selfservice.register import register_endpoint

    return view(register_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/verify", methods=["GET", "POST"], content_types=BODY_TYPES)
def verify(tenant: str) -> Response:
    from chalicelib.web.selfservice.verify import verify_endpoint

    return view(verify_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/verification/resend", methods=["POST"], content_types=BODY_TYPES)
def verification_resend(tenant: str) -> Response:
    from chalicelib.web.selfservice.register import resend_endpoint

    return view(resend_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/invitation", methods=["GET", "POST"], content_types=BODY_TYPES)
def invitation(tenant: str) -> Response:
    from chalicelib.web.selfservice.verify import invitation_endpoint

    return view(invitation_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/password/forgot", methods=["GET", "POST"], content_types=BODY_TYPES)
def password_forgot(tenant: str) -> Response:
    from chalicelib.web.selfservice.recovery import forgot_endpoint

    return view(forgot_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/password/reset", methods=["GET", "POST"], content_types=BODY_TYPES)
def password_reset(tenant: str) -> Response:
    from chalicelib.web.selfservice.recovery import reset_endpoint

    return view(reset_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/email/change", methods=["GET", "POST"], content_types=BODY_TYPES)
def email_change(tenant: str) -> Response:
    from chalicelib.web.selfservice.recovery import email_change_endpoint

    return view(email_change_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/email/verify", methods=["GET", "POST"], content_types=BODY_TYPES)
def email_verify(tenant: str) -> Response:
    from chalicelib.web.selfservice.recovery import email_verify_endpoint

    return view(email_verify_endpoint)(app.current_request, tenant)


# --- native authentication API (JSON, for mobile apps) ----------------------------------------------------------


@app.route("/t/{tenant}/authn/register", methods=["POST"], content_types=BODY_TYPES)
def authn_register(tenant: str) -> Response:
    from chalicelib.web.selfservice.api import register_api

    return view(register_api)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/verification/resend", methods=["POST"], content_types=BODY_TYPES)
def authn_verification_resend(tenant: str) -> Response:
    from chalicelib.web.selfservice.api import resend_api

    return view(resend_api)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/password/forgot", methods=["POST"], content_types=BODY_TYPES)
def authn_password_forgot(tenant: str) -> Response:
    from chalicelib.web.selfservice.api import forgot_api

    return view(forgot_api)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/password/reset", methods=["POST"], content_types=BODY_TYPES)
def authn_password_reset(tenant: str) -> Response:
    from chalicelib.web.selfservice.api import reset_api

    return view(reset_api)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/email/change", methods=["POST"], content_types=BODY_TYPES)
def authn_email_change(tenant: str) -> Response:
    from chalicelib.web.selfservice.api import email_change_api

    return view(email_change_api)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/anonymous", methods=["POST"], content_types=BODY_TYPES, cors=PUBLIC_CORS)
def authn_anonymous(tenant: str) -> Response:
    from chalicelib.web.selfservice.anonymous import anonymous_signin_endpoint

    return view(anonymous_signin_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/anonymous/upgrade", methods=["POST"], content_types=BODY_TYPES)
def authn_anonymous_upgrade(tenant: str) -> Response:
    from chalicelib.web.selfservice.anonymous import anonymous_upgrade_api

    return view(anonymous_upgrade_api)(app.current_request, tenant)


# --- SCIM 2.0 (RFC 7644): provisioning by external systems ----------------------------------------------------

SCIM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@app.route("/t/{tenant}/scim/v2/ServiceProviderConfig", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_service_provider_config(tenant: str) -> Response:
    from chalicelib.web.scim.endpoints import service_provider_config_endpoint

    return view(service_provider_config_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/scim/v2/ResourceTypes", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_resource_types(tenant: str) -> Response:
    from chalicelib.web.scim.endpoints import resource_types_endpoint

    return view(resource_types_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/scim/v2/ResourceTypes/{wanted}", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_resource_type(tenant: str, wanted: str) -> Response:
    from chalicelib.web.scim.endpoints import resource_types_endpoint

    return view(resource_types_endpoint)(app.current_request, tenant, wanted)


@app.route("/t/{tenant}/scim/v2/Schemas", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_schemas(tenant: str) -> Response:
    from chalicelib.web.scim.endpoints import schemas_endpoint

    return view(schemas_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/scim/v2/Schemas/{wanted}", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_schema(tenant: str, wanted: str) -> Response:
    from chalicelib.web.scim.endpoints import schemas_endpoint

    return view(schemas_endpoint)(app.current_request, tenant, wanted)


@app.route("/t/{tenant}/scim/v2/Users", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_users(tenant: str) -> Response:
    from chalicelib.web.scim.endpoints import users_endpoint

    return view(users_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/scim/v2/Groups", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_groups(tenant: str) -> Response:
    from chalicelib.web.scim.endpoints import groups_endpoint

    return view(groups_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/scim/v2/Groups/{group_id}", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_group(tenant: str, group_id: str) -> Response:
    from chalicelib.web.scim.endpoints import group_endpoint

    return view(group_endpoint)(app.current_request, tenant, group_id)


@app.route("/t/{tenant}/scim/v2/{resource}", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_unknown(tenant: str, resource: str) -> Response:
    from chalicelib.web.scim.endpoints import unknown_endpoint

    return view(unknown_endpoint)(app.current_request, tenant, resource)


@app.route("/t/{tenant}/scim/v2/Users/{user_id}", methods=SCIM_METHODS, content_types=BODY_TYPES)
def scim_user(tenant: str, user_id: str) -> Response:
    from chalicelib.web.scim.endpoints import user_endpoint

    return view(user_endpoint)(app.current_request, tenant, user_id)


# --- admin API -------------------------------------------------------------------------------------------------


@app.route("/t/{tenant}/admin/nodes", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_nodes(tenant: str) -> Response:
    from chalicelib.web.admin.nodes import nodes_endpoint

    return view(nodes_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/nodes/{slug}", methods=["GET", "PATCH", "DELETE"], content_types=BODY_TYPES)
def admin_node(tenant: str, slug: str) -> Response:
    from chalicelib.web.admin.nodes import node_endpoint

    return view(node_endpoint)(app.current_request, tenant, slug)


@app.route("/t/{tenant}/admin/audit", methods=["GET"], content_types=BODY_TYPES)
def admin_audit(tenant: str) -> Response:
    from chalicelib.web.admin.audit import audit_endpoint

    return view(audit_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/users", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_users(tenant: str) -> Response:
    from chalicelib.web.admin.users import user_list_endpoint

    return view(user_list_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/users/{user_id}", methods=["GET", "PATCH", "DELETE"], content_types=BODY_TYPES)
def admin_user(tenant: str, user_id: str) -> Response:
    from chalicelib.web.admin.users import user_item_endpoint

    return view(user_item_endpoint)(app.current_request, tenant, user_id)


@app.route("/t/{tenant}/admin/users/{user_id}/{action}", methods=["POST"], content_types=BODY_TYPES)
def admin_user_action(tenant: str, user_id: str, action: str) -> Response:
    from chalicelib.web.admin.users import user_action_endpoint

    return view(user_action_endpoint)(app.current_request, tenant, user_id, action)


@app.route("/t/{tenant}/admin/roles", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_roles(tenant: str) -> Response:
    from chalicelib.web.admin.roles import roles_endpoint

    return view(roles_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/roles/{name}", methods=["GET", "DELETE"], content_types=BODY_TYPES)
def admin_role(tenant: str, name: str) -> Response:
    from chalicelib.web.admin.roles import role_endpoint

    return view(role_endpoint)(app.current_request, tenant, name)


@app.route("/t/{tenant}/admin/users/{user_id}/roles", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_user_roles(tenant: str, user_id: str) -> Response:
    from chalicelib.web.admin.roles import user_roles_endpoint

    return view(user_roles_endpoint)(app.current_request, tenant, user_id)


@app.route("/t/{tenant}/admin/users/{user_id}/roles/{role}", methods=["DELETE"], content_types=BODY_TYPES)
def admin_user_role(tenant: str, user_id: str, role: str) -> Response:
    from chalicelib.web.admin.roles import user_role_endpoint

    return view(user_role_endpoint)(app.current_request, tenant, user_id, role)


@app.route("/t/{tenant}/admin/idps", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_idps(tenant: str) -> Response:
    from chalicelib.web.admin.idps import idps_endpoint

    return view(idps_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/idps/{name}", methods=["GET", "PATCH", "DELETE"], content_types=BODY_TYPES)
def admin_idp(tenant: str, name: str) -> Response:
    from chalicelib.web.admin.idps import idp_endpoint

    return view(idp_endpoint)(app.current_request, tenant, name)


# --- second factors: sign-in challenge, enrollment, the user's own factors (hosted pages) -------------------------


@app.route("/t/{tenant}/mfa/challenge", methods=["POST"], content_types=BODY_TYPES)
def mfa_challenge(tenant: str) -> Response:
    from chalicelib.web.mfa.signin import challenge_endpoint as mfa_challenge_endpoint

    return view(mfa_challenge_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/login/new-password", methods=["POST"], content_types=BODY_TYPES)
def login_new_password(tenant: str) -> Response:
    from chalicelib.web.oidc.new_password import new_password_endpoint

    return view(new_password_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/mfa/continue", methods=["POST"], content_types=BODY_TYPES)
def mfa_continue(tenant: str) -> Response:
    from chalicelib.web.mfa.account import continue_endpoint as mfa_continue_endpoint

    return view(mfa_continue_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/mfa/factors", methods=["GET", "POST"], content_types=BODY_TYPES)
def mfa_factors(tenant: str) -> Response:
    from chalicelib.web.mfa.factors import factors_endpoint as mfa_factors_endpoint

    return view(mfa_factors_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/mfa/enroll/{kind}", methods=["GET", "POST"], content_types=BODY_TYPES)
def mfa_enroll(tenant: str, kind: str) -> Response:
    from chalicelib.web.mfa.enroll import enroll_endpoint as mfa_enroll_endpoint

    return view(mfa_enroll_endpoint)(app.current_request, tenant, kind)


# --- native authentication flows (JSON, first-party mobile apps; end in an authorization code) --------------------


@app.route("/t/{tenant}/authn/flows", methods=["POST"], content_types=BODY_TYPES)
def authn_flows(tenant: str) -> Response:
    from chalicelib.web.authn.flows import start_flow

    return view(start_flow)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/flows/{step}", methods=["POST"], content_types=BODY_TYPES)
def authn_flow_step(tenant: str, step: str) -> Response:
    from chalicelib.web.authn.flows import flow_step

    return view(flow_step)(app.current_request, tenant, step)


@app.route("/t/{tenant}/admin/webhook", methods=["GET", "PUT", "DELETE"], content_types=BODY_TYPES)
def admin_webhook(tenant: str) -> Response:
    from chalicelib.web.admin.webhook import webhook_endpoint

    return view(webhook_endpoint)(app.current_request, tenant)


# --- federation: upstream identity providers (the SAML SP adds its metadata and ACS routes here) -----------------


@app.route("/t/{tenant}/federation/{idp}/start", methods=["GET"], content_types=BODY_TYPES)
def federation_start(tenant: str, idp: str) -> Response:
    from chalicelib.web.federation.pages import start_endpoint as federation_start_endpoint

    return view(federation_start_endpoint)(app.current_request, tenant, idp)


@app.route("/t/{tenant}/federation/{idp}/callback", methods=["GET"], content_types=BODY_TYPES)
def federation_callback(tenant: str, idp: str) -> Response:
    from chalicelib.web.federation.oidc_rp import callback_endpoint as oidc_callback_endpoint

    return view(oidc_callback_endpoint)(app.current_request, tenant, idp)


@app.route("/t/{tenant}/federation/logins/{login_id}", methods=["GET", "POST"], content_types=BODY_TYPES)
def federation_login(tenant: str, login_id: str) -> Response:
    from chalicelib.web.federation.pages import continue_endpoint as federation_continue_endpoint

    return view(federation_continue_endpoint)(app.current_request, tenant, login_id)


# --- SAML 2.0 service provider (pysaml2 loads inside the handlers, never at import) -------------------------------


@app.route("/t/{tenant}/saml/{idp}/metadata", methods=["GET"])
def saml_metadata(tenant: str, idp: str) -> Response:
    from chalicelib.web.saml.endpoints import metadata_endpoint as saml_metadata_endpoint

    return view(saml_metadata_endpoint)(app.current_request, tenant, idp)


@app.route("/t/{tenant}/saml/{idp}/acs", methods=["GET", "POST"], content_types=BODY_TYPES)
def saml_acs(tenant: str, idp: str) -> Response:
    from chalicelib.web.saml.acs import acs_endpoint as saml_acs_endpoint

    return view(saml_acs_endpoint)(app.current_request, tenant, idp)


@app.route("/t/{tenant}/authn/passkeys", methods=["POST"], content_types=BODY_TYPES)
def authn_passkeys(tenant: str) -> Response:
    from chalicelib.web.authn.passkeys import register_passkey

    return view(register_passkey)(app.current_request, tenant)


@app.route("/t/{tenant}/authn/passkeys/verify", methods=["POST"], content_types=BODY_TYPES)
def authn_passkeys_verify(tenant: str) -> Response:
    from chalicelib.web.authn.passkeys import verify_passkey

    return view(verify_passkey)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/nodes/{slug}/{action}", methods=["POST"], content_types=BODY_TYPES)
def admin_node_action(tenant: str, slug: str, action: str) -> Response:
    from chalicelib.web.admin.nodes import node_action_endpoint

    return view(node_action_endpoint)(app.current_request, tenant, slug, action)


@app.route("/t/{tenant}/admin/clients", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_clients(tenant: str) -> Response:
    from chalicelib.web.admin.clients import clients_endpoint

    return view(clients_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/clients/{client_id}", methods=["GET", "PATCH", "DELETE"], content_types=BODY_TYPES)
def admin_client(tenant: str, client_id: str) -> Response:
    from chalicelib.web.admin.clients import client_endpoint

    return view(client_endpoint)(app.current_request, tenant, client_id)


@app.route("/t/{tenant}/admin/clients/{client_id}/{action}", methods=["POST"], content_types=BODY_TYPES)
def admin_client_action(tenant: str, client_id: str, action: str) -> Response:
    from chalicelib.web.admin.clients import client_action_endpoint

    return view(client_action_endpoint)(app.current_request, tenant, client_id, action)


@app.route("/t/{tenant}/admin/groups", methods=["GET"], content_types=BODY_TYPES)
def admin_groups(tenant: str) -> Response:
    from chalicelib.web.admin.groups import admin_groups_endpoint

    return view(admin_groups_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/users/{user_id}/groups", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_user_groups(tenant: str, user_id: str) -> Response:
    from chalicelib.web.admin.groups import user_groups_endpoint

    return view(user_groups_endpoint)(app.current_request, tenant, user_id)


@app.route("/t/{tenant}/admin/users/{user_id}/groups/{group_id}", methods=["DELETE"], content_types=BODY_TYPES)
def admin_user_group(tenant: str, user_id: str, group_id: str) -> Response:
    from chalicelib.web.admin.groups import user_group_endpoint

    return view(user_group_endpoint)(app.current_request, tenant, user_id, group_id)


# --- Step Functions tasks of infra/statemachines/email_verification.asl.json ------------------------------------


@app.lambda_function(name="SendVerificationEmail")
def send_verification_email(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import email_verification

    return email_verification.send_verification_email(event)


@app.lambda_function(name="SendVerificationReminder")
def send_verification_reminder(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import email_verification

    return email_verification.send_verification_reminder(event)


@app.lambda_function(name="ActivateAccount")
def activate_account(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import email_verification

    return email_verification.activate_account(event)


@app.lambda_function(name="DeletePendingAccount")
def delete_pending_account(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import email_verification

    return email_verification.delete_pending_account(event)


# --- Step Functions tasks of infra/statemachines/jit_provisioning.asl.json --------------------------------------


@app.lambda_function(name="ResolveFederatedAccount")
def resolve_federated_account(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import jit_provisioning

    return jit_provisioning.resolve_account(event)


@app.lambda_function(name="RecordFederatedIdentity")
def record_federated_identity(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import jit_provisioning

    return jit_provisioning.record_identity(event)


@app.lambda_function(name="NotifyProvisioningWebhook")
def notify_provisioning_webhook(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import jit_provisioning

    return jit_provisioning.notify_webhook(event)


@app.lambda_function(name="FailFederatedLogin")
def fail_federated_login(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import jit_provisioning

    return jit_provisioning.fail_login(event)


# --- Step Functions tasks of infra/statemachines/{data_export,account_deletion}.asl.json ------------------------


@app.lambda_function(name="BuildDataExport")
def build_data_export(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import privacy

    return privacy.build_data_export(event)


@app.lambda_function(name="SendDataExportLink")
def send_data_export_link(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import privacy

    return privacy.send_data_export_link(event)


@app.lambda_function(name="MarkDataExportFailed")
def mark_data_export_failed(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import privacy

    return privacy.mark_data_export_failed(event)


@app.lambda_function(name="EraseAccount")
def erase_account(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import privacy

    return privacy.erase_account(event)


@app.route("/t/{tenant}/profile/complete", methods=["POST"], content_types=BODY_TYPES)
def profile_complete(tenant: str) -> Response:
    from chalicelib.web.oidc.profiling import complete_profile_endpoint

    return view(complete_profile_endpoint)(app.current_request, tenant)


# --- account portal (hosted pages) and account API (bearer token): /t/{tenant}/account/... ----------------------

ACCOUNT_METHODS = ["GET", "POST", "PATCH", "DELETE"]


@app.route("/t/{tenant}/account", methods=ACCOUNT_METHODS, content_types=BODY_TYPES)
def account_root(tenant: str) -> Response:
    from chalicelib.web.account.routes import account_endpoint

    return view(account_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/account/{section}", methods=ACCOUNT_METHODS, content_types=BODY_TYPES)
def account_section(tenant: str, section: str) -> Response:
    from chalicelib.web.account.routes import account_endpoint

    return view(account_endpoint)(app.current_request, tenant, section)


@app.route("/t/{tenant}/account/{section}/{item}", methods=ACCOUNT_METHODS, content_types=BODY_TYPES)
def account_item(tenant: str, section: str, item: str) -> Response:
    from chalicelib.web.account.routes import account_endpoint

    return view(account_endpoint)(app.current_request, tenant, section, item)


@app.route("/t/{tenant}/account/{section}/{item}/{sub}", methods=ACCOUNT_METHODS, content_types=BODY_TYPES)
def account_sub_item(tenant: str, section: str, item: str, sub: str) -> Response:
    from chalicelib.web.account.routes import account_endpoint

    return view(account_endpoint)(app.current_request, tenant, section, item, sub)


@app.route("/t/{tenant}/admin/analytics", methods=["GET"], content_types=BODY_TYPES)
def admin_analytics(tenant: str) -> Response:
    from chalicelib.web.admin.analytics import analytics_endpoint

    return view(analytics_endpoint)(app.current_request, tenant)


@app.route("/t/{tenant}/admin/dashboard", methods=["GET", "POST"], content_types=BODY_TYPES)
def admin_dashboard(tenant: str) -> Response:
    from chalicelib.web.admin.analytics import dashboard_endpoint

    return view(dashboard_endpoint)(app.current_request, tenant)


# --- the hosted pages' static script (passkey ceremonies; content-addressed name) ---------------------------------


@app.route("/static/{name}", methods=["GET"])
def static_asset(name: str) -> Response:
    from chalicelib.web.pages.assets import static_asset as static_asset_endpoint

    return view(static_asset_endpoint)(app.current_request, name)


# --- audit event stream (DynamoDB Streams on the audit table): analytics counters, new-device notices -------------


@app.on_dynamodb_record(
    stream_arn=AUDIT_STREAM_ARN,
    name="AuditStreamConsumer",
    batch_size=100,
    starting_position="TRIM_HORIZON",
)
def audit_stream_consumer(event: DynamoDBEvent) -> None:
    from chalicelib.workflows import audit_stream

    audit_stream.consume(event.to_dict()["Records"])


# --- audit log channel (CloudWatch Logs subscription on the functions' log group): token issue events ------------


@app.lambda_function(name="IngestAuditLog")
def ingest_audit_log(event: dict[str, object], context: object) -> dict[str, object]:
    from chalicelib.workflows import audit_log

    return dict(audit_log.ingest(event))
