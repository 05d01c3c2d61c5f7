"""Operator CLI commands: each takes parsed arguments and returns a JSON-serialisable result."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chalicelib import container
from chalicelib.core.errors import AlreadyExists, InvalidInput
from chalicelib.core.ids import TenantId
from chalicelib.services.tokens import issuer_url

OPERATOR_CLIENT = "gatehouse-operator"
OPERATOR_SCOPES = ["admin", "scim"]


def _node_id(tenant_id: TenantId, slug: str | None) -> Any:
    return container.tenants().resolve_node(tenant_id, slug).node_id


def tenant_create(args: argparse.Namespace) -> dict[str, Any]:
    if not args.parent:
        if args.tier not in (None, "customer"):
            raise InvalidInput("An organization or account needs --parent.")
        node = container.tenants().create_customer(args.slug, args.name)
        container.signing_keys().ensure_keys(node.tenant_id)
    else:
        parent = container.tenants().find_node_anywhere(args.parent)
        node = container.tenants().create_child(parent.tenant_id, parent.slug, args.slug, args.tier, args.name)
    return {
        "tenant": node.tenant_id,
        "slug": node.slug,
        "tier": node.tier,
        "node_id": node.node_id,
        "issuer": issuer_url(node.tenant_id),
    }


def tenant_show(args: argparse.Namespace) -> dict[str, Any]:
    tree = container.tenants().tree(args.slug)
    effective = container.tenants().effective(tree.tenant_id)
    return {
        "tenant": tree.tenant_id,
        "issuer": issuer_url(tree.tenant_id),
        "nodes": [
            {"slug": n.slug, "tier": n.tier, "node_id": n.node_id, "parent_id": n.parent_id, "status": n.status}
            for n in tree.nodes.values()
        ],
        "settings": effective.values,
    }


def client_create(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    jwks = json.loads(Path(args.jwks_file).read_text()) if args.jwks_file else None
    client, secret = container.clients().create(
        tenant_id,
        name=args.name,
        client_type=args.type,
        redirect_uris=args.redirect_uri,
        post_logout_redirect_uris=args.post_logout_redirect_uri,
        scopes=args.scope or None,
        tier_node_id=_node_id(tenant_id, args.tier_node),
        first_party=args.first_party,
        client_id=args.client_id,
        auth_method=args.auth_method,
        jwks=jwks,
        required_attributes=getattr(args, "required_attribute", None) or None,
    )
    result: dict[str, Any] = {
        "client_id": client.client_id,
        "type": client.client_type,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": list(client.redirect_uris),
        "scopes": list(client.scopes),
        "issuer": issuer_url(tenant_id),
    }
    if secret:
        result["client_secret"] = secret
    return result


def client_rotate_secret(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    return {"client_id": args.client_id, "client_secret": container.clients().rotate_secret(tenant_id, args.client_id)}


def user_create(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    node_id = _node_id(tenant_id, args.tier_node)
    user = container.accounts().create_user(
        tenant_id,
        email=args.email,
        password=args.password,
        verified=args.verified,
        settings=container.tenants().effective(tenant_id, node_id),
        tier_node_id=node_id,
    )
    return {"user_id": user.user_id, "email": user.email, "status": user.status}


def user_show(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    user = container.accounts().find_by_email(tenant_id, args.email)
    return {
        "user_id": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "status": user.status,
        "profile": user.profile,
        "tier_node_id": user.tier_node_id,
        "created_at": user.created_at,
    }


def user_invite(args: argparse.Namespace) -> dict[str, Any]:
    """A pending account without password; the invitation email carries a set-password link."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    node_id = _node_id(tenant_id, args.tier_node)
    user = container.registration().invite(
        tenant_id, args.email, settings=container.tenants().effective(tenant_id, node_id), node_id=node_id
    )
    return {"user_id": user.user_id, "email": user.email, "status": user.status, "invitation": "sent"}


def user_reset_mfa(args: argparse.Namespace) -> dict[str, Any]:
    """Remove every second factor of the user and forget its remembered browsers (the user lost them all)."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    user = container.accounts().find_by_email(tenant_id, args.email)
    removed = container.mfa().reset(tenant_id, user)
    container.account_profile().forget_devices(user)
    _audit(tenant_id, "admin.user.reset_mfa", user.user_id, user.tier_node_id, {"factors_removed": removed})
    return {"user_id": user.user_id, "email": user.email, "factors_removed": removed}


def token_admin(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    client = container.clients().get(tenant_id, OPERATOR_CLIENT)
    if client is None:
        try:
            client, _ = container.clients().create(
                tenant_id,
                name="Gatehouse operator",
                client_type="service",
                scopes=OPERATOR_SCOPES,
                client_id=OPERATOR_CLIENT,
                first_party=True,
            )
        except AlreadyExists:
            client = container.clients().get(tenant_id, OPERATOR_CLIENT)
    if client is None:
        raise InvalidInput("The operator client could not be created.")
    settings = container.tenants().effective(tenant_id, client.tier_node_id)
    return container.authorization().client_credentials(tenant_id, client, scope=client.scopes, settings=settings)


def key_rotate(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    return container.signing_keys().rotate(tenant_id)


# --- roles ------------------------------------------------------------------------------------------------------

CLI_ACTOR = "cli:operator"


def _role_target(args: argparse.Namespace) -> tuple[TenantId, Any, Any]:
    """(tenant, user, node): the node is ``--tier-node`` or, by default, the user's own node."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    user = container.accounts().find_by_email(tenant_id, args.email)
    node = container.tenants().resolve_node(tenant_id, args.tier_node) if args.tier_node else None
    return tenant_id, user, node.node_id if node else user.tier_node_id


def _audit(tenant_id: TenantId, action: str, target: str, node_id: Any, details: dict[str, Any]) -> None:
    from chalicelib.services.audit import Actor

    actor = Actor(tenant_id, CLI_ACTOR, node_id, "cli", "gatehouse-cli")
    container.audit().record(actor, action, target, node_id=node_id, details=details)


def _slug(tenant_id: TenantId, node_id: Any) -> str | None:
    node = container.tenants().tree(tenant_id).nodes.get(node_id)
    return node.slug if node else None


def role_assign(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id, user, node_id = _role_target(args)
    assignment = container.roles().assign(tenant_id, user.user_id, args.role, node_id, by=CLI_ACTOR)
    _audit(
        tenant_id, "admin.role.assign", user.user_id, node_id, {"role": args.role, "node": _slug(tenant_id, node_id)}
    )
    return {
        "user_id": user.user_id,
        "email": user.email,
        "role": assignment.role,
        "tier_node": _slug(tenant_id, node_id),
    }


def role_remove(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id, user, node_id = _role_target(args)
    container.roles().unassign(tenant_id, user.user_id, args.role, node_id)
    _audit(
        tenant_id, "admin.role.unassign", user.user_id, node_id, {"role": args.role, "node": _slug(tenant_id, node_id)}
    )
    return {"user_id": user.user_id, "role": args.role, "tier_node": _slug(tenant_id, node_id), "removed": True}


def role_list(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    if args.email:
        user = container.accounts().find_by_email(tenant_id, args.email)
        held = container.roles().roles_of(tenant_id, user.user_id)
        return {
            "user_id": user.user_id,
            "email": user.email,
            "roles": [{"role": a.role, "tier_node": _slug(tenant_id, a.node_id)} for a in held],
        }
    return {
        "roles": [
            {
                "name": r.name,
                "description": r.description,
                "builtin": r.builtin,
                "admin_tier": r.admin_tier,
                "tier_node": _slug(tenant_id, r.node_id) if r.node_id else None,
            }
            for r in container.roles().list_roles(tenant_id)
        ]
    }


def role_create(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    node_id = _node_id(tenant_id, args.tier_node) if args.tier_node else None
    role = container.roles().define(tenant_id, args.name, args.description or "", node_id)
    _audit(tenant_id, "admin.role.create", role.name, node_id or "root", {})
    return {"name": role.name, "description": role.description, "tier_node": args.tier_node}


def role_delete(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    container.roles().delete(tenant_id, args.name)
    _audit(tenant_id, "admin.role.delete", args.name, "root", {})
    return {"name": args.name, "deleted": True}


# --- identity-provider integrations (federation) ----------------------------------------------------------------


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key or not target:
            raise InvalidInput(f"{option} takes KEY=VALUE, not '{value[:64]}'.")
        pairs[key] = target
    return pairs


def _idp_document(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    document: dict[str, Any] = {"name": args.name, "kind": kind}
    if args.display_name is not None:
        document["display_name"] = args.display_name
    if args.domain:
        document["domains"] = args.domain
    if args.linking is not None:
        document["linking"] = args.linking
    if args.map:
        document["attribute_mapping"] = _pairs(args.map, "--map")
    if args.role_map:
        document["role_mapping"] = {g: r.split(",") for g, r in _pairs(args.role_map, "--role-map").items()}
    if args.disabled:
        document["enabled"] = False
    return document


def _idp_result(integration: Any) -> dict[str, Any]:
    from chalicelib.services.identity_providers import to_document

    document = to_document(integration)
    node = container.tenants().tree(integration.tenant_id).nodes.get(integration.node_id)
    document["tier_node"] = node.slug if node else None
    return document


def idp_add_saml(args: argparse.Namespace) -> dict[str, Any]:
    """Register a SAML IdP from its metadata; prints the SP entity ID, ACS URL and SP metadata URL."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    document = _idp_document(args, "saml")
    document["saml"] = {"metadata": Path(args.metadata).read_text(), "allow_unsolicited": args.allow_unsolicited}
    integration = container.identity_providers().create(tenant_id, _node_id(tenant_id, args.tier_node), document)
    result = _idp_result(integration)
    saml = result.pop("saml")
    return {**result, **{k: saml[k] for k in ("sp_entity_id", "acs_url", "metadata_url", "idp_entity_id")}}


def idp_add_oidc(args: argparse.Namespace) -> dict[str, Any]:
    """Register an upstream OpenID provider; prints the redirect URI to register there."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    document = _idp_document(args, "oidc")
    oidc: dict[str, Any] = {"client_id": args.client_id, "client_secret": args.client_secret}
    if args.issuer:
        oidc["issuer"] = args.issuer
    if args.preset:
        oidc["preset"] = args.preset
    if args.scope:
        oidc["scopes"] = args.scope
    document["oidc"] = oidc
    integration = container.identity_providers().create(tenant_id, _node_id(tenant_id, args.tier_node), document)
    result = _idp_result(integration)
    result["redirect_uri"] = result["oidc"]["redirect_uri"]
    return result


def idp_list(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    integrations = container.identity_providers().all(tenant_id, fresh=True)
    return {"identity_providers": [_idp_result(i) for i in sorted(integrations, key=lambda i: i.name)]}


def idp_remove(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    container.identity_providers().delete(tenant_id, args.name)
    return {"name": args.name, "removed": True}


def webhook_set(args: argparse.Namespace) -> dict[str, Any]:
    """Set the tenant's provisioning webhook; prints the HMAC secret once."""
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    webhook, secret = container.webhooks().set(tenant_id, args.url)
    return {"tenant": tenant_id, "url": webhook.url, "secret": secret}


def webhook_show(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    webhook = container.webhooks().get(tenant_id)
    return {"tenant": tenant_id, "url": webhook.url if webhook else None}


def webhook_remove(args: argparse.Namespace) -> dict[str, Any]:
    tenant_id = container.tenants().tree(args.tenant).tenant_id
    container.webhooks().delete(tenant_id)
    return {"tenant": tenant_id, "removed": True}


# --- tier nodes: rename, settings, disable, delete ---------------------------------------------------------------


def _find_node(args: argparse.Namespace) -> Any:
    if args.tenant:
        tenant_id = container.tenants().tree(args.tenant).tenant_id
        return container.tenants().resolve_node(tenant_id, args.slug)
    return container.tenants().find_node_anywhere(args.slug)


def _node_result(node: Any) -> dict[str, Any]:
    tree = container.tenants().tree(node.tenant_id)
    current = tree.nodes[node.node_id]
    effective = container.tenants().effective(node.tenant_id, node.node_id)
    slugs = {n.node_id: n.slug for n in tree.nodes.values()}
    return {
        "tenant": current.tenant_id,
        "slug": current.slug,
        "name": current.name,
        "tier": current.tier,
        "status": current.status,
        "parent": slugs.get(current.parent_id) if current.parent_id else None,
        "settings": current.settings,
        "effective": effective.values,
        "sources": {key: slugs.get(source, source) for key, source in effective.sources.items()},  # type: ignore[call-overload]
    }


def tenant_update(args: argparse.Namespace) -> dict[str, Any]:
    node = _find_node(args)
    settings = None
    if args.settings is not None:
        text = Path(args.settings[1:]).read_text() if args.settings.startswith("@") else args.settings
        settings = json.loads(text)
    updated = container.tenants().update_node(
        node.tenant_id, node.node_id, name=args.name, slug=args.new_slug, settings=settings
    )
    _audit(node.tenant_id, "admin.node.update", updated.slug, node.node_id, {"previous_slug": node.slug})
    return _node_result(updated)


def tenant_settings(args: argparse.Namespace) -> dict[str, Any]:
    return _node_result(_find_node(args))


def tenant_set_status(args: argparse.Namespace) -> dict[str, Any]:
    node = _find_node(args)
    disabled = args.action == "disable"
    updated, revoked = container.node_admin().set_disabled(node.tenant_id, node.node_id, disabled)
    _audit(node.tenant_id, f"admin.node.{args.action}", node.slug, node.node_id, dict(revoked))
    return {**_node_result(updated), "signed_out": revoked}


def tenant_delete(args: argparse.Namespace) -> dict[str, Any]:
    node = _find_node(args)
    container.node_admin().delete(node.tenant_id, node.node_id)
    _audit(node.tenant_id, "admin.node.delete", node.slug, node.parent_id or node.node_id, {})
    return {"tenant": node.tenant_id, "slug": node.slug, "deleted": True}
