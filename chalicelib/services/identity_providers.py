"""Identity-provider integrations of a tenant: create, update, delete, list, and the ones effective for a node.

An integration belongs to a tier node and is inherited downward (``core.federation.effective_integrations``).
A tenant's integrations are read in one query and cached per process for the tenant cache TTL, so showing the
login page adds no DynamoDB request when warm; a name that is not in the cached list is looked up again before
it is reported unknown (an integration created by another process is usable at once through ``?idp=``).
An OIDC client secret is stored only envelope-encrypted under the service KMS key, bound to tenant and name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chalicelib.config import settings as config
from chalicelib.core import clock
from chalicelib.core.errors import InvalidInput, NotFound
from chalicelib.core.federation import (
    IdentityProvider,
    OidcSettings,
    SamlSettings,
    effective_integrations,
)
from chalicelib.core.ids import NodeId, TenantId
from chalicelib.core.ports import IdentityProviderRepository, KeyEncryption
from chalicelib.services import idp_documents as check
from chalicelib.services.cache import TtlCache
from chalicelib.services.tenants import TenantService
from chalicelib.services.tokens import issuer_url

MAX_PER_TENANT = 100
COMMON_FIELDS = ("display_name", "enabled", "domains", "attribute_mapping", "role_mapping", "linking")


def saml_urls(tenant_id: TenantId, name: str) -> dict[str, str]:
    """The SP's URLs for integration ``name``; the SP entity ID is its metadata URL."""
    base = f"{issuer_url(tenant_id)}/saml/{name}"
    return {"sp_entity_id": f"{base}/metadata", "acs_url": f"{base}/acs", "metadata_url": f"{base}/metadata"}


def oidc_callback_url(tenant_id: TenantId, name: str) -> str:
    return f"{issuer_url(tenant_id)}/federation/{name}/callback"


def _secret_context(tenant_id: TenantId, name: str) -> dict[str, str]:
    return {"tenant": tenant_id, "purpose": "idp-client-secret", "id": name}


class IdentityProviderService:
    def __init__(
        self, repository: IdentityProviderRepository, encryption: KeyEncryption, tenants: TenantService
    ) -> None:
        self._repository = repository
        self._encryption = encryption
        self._tenants = tenants
        self._lists: TtlCache[tuple[IdentityProvider, ...]] = TtlCache(config().tenant_cache_seconds)

    # --- reads -------------------------------------------------------------------------------------------------

    def all(self, tenant_id: TenantId, *, fresh: bool = False) -> tuple[IdentityProvider, ...]:
        if fresh:
            self._lists.invalidate(tenant_id)
        return self._lists.get_or_load(tenant_id, lambda: tuple(self._repository.list(tenant_id)))

    def get(self, tenant_id: TenantId, name: str) -> IdentityProvider:
        integration = self._repository.get(tenant_id, name) if check.NAME.match(name) else None
        if integration is None:
            raise NotFound(f"Unknown identity provider '{name[:64]}'.")
        return integration

    def effective(self, tenant_id: TenantId, node_id: NodeId) -> list[IdentityProvider]:
        """The enabled integrations offered to clients of ``node_id`` (its own and its ancestors')."""
        return effective_integrations(self._tenants.tree(tenant_id), node_id, self.all(tenant_id))

    def find_effective(self, tenant_id: TenantId, node_id: NodeId, name: str) -> IdentityProvider | None:
        """The named integration if it is effective for ``node_id``, else None."""
        for fresh in (False, True):
            found = next((i for i in self._effective(tenant_id, node_id, fresh=fresh) if i.name == name), None)
            if found is not None:
                return found
        return None

    def _effective(self, tenant_id: TenantId, node_id: NodeId, *, fresh: bool) -> list[IdentityProvider]:
        return effective_integrations(self._tenants.tree(tenant_id), node_id, self.all(tenant_id, fresh=fresh))

    def client_secret(self, integration: IdentityProvider) -> str:
        """The decrypted OIDC client secret (for the token request to the upstream provider only)."""
        if integration.oidc is None:
            raise NotFound("This identity provider has no client secret.")
        blob = integration.oidc.client_secret_blob
        return self._encryption.decrypt(blob, _secret_context(integration.tenant_id, integration.name)).decode()

    # --- writes ------------------------------------------------------------------------------------------------

    def create(self, tenant_id: TenantId, node_id: NodeId, document: Mapping[str, Any]) -> IdentityProvider:
        """Create an integration on ``node_id`` from a document (see ``services.idp_documents``)."""
        if not isinstance(document, Mapping):
            raise InvalidInput("The identity provider must be a JSON object.")
        unknown = set(document) - {"name", "kind", "node", *COMMON_FIELDS, "saml", "oidc"}
        if unknown:
            raise InvalidInput(f"Unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}.")
        name = check.check_name(document.get("name"))
        kind = document.get("kind")
        if kind not in ("saml", "oidc"):
            raise InvalidInput("kind must be saml or oidc.", fields={"kind": "invalid"})
        if node_id not in self._tenants.tree(tenant_id).nodes:
            raise NotFound("Unknown tier node.")
        if len(self.all(tenant_id, fresh=True)) >= MAX_PER_TENANT:
            raise InvalidInput(f"A tenant has at most {MAX_PER_TENANT} identity providers.")
        now = clock.now()
        preset = check.check_preset((document.get("oidc") or {}).get("preset")) if kind == "oidc" else None
        defaults = check.PRESETS.get(preset or "", {})
        integration = IdentityProvider(
            tenant_id=tenant_id,
            name=name,
            kind=kind,
            node_id=node_id,
            display_name=str(defaults.get("display_name", name)),
            attribute_mapping=dict(defaults.get("attribute_mapping", {})),
            created_at=now,
            updated_at=now,
        )
        integration = self._apply_common(integration, document)
        if kind == "saml":
            integration = replace(integration, saml=self._saml(None, document.get("saml")))
        else:
            integration = replace(integration, oidc=self._oidc(tenant_id, name, None, document.get("oidc")))
        self._repository.create(integration)
        self._lists.invalidate(tenant_id)
        return integration

    def update(self, tenant_id: TenantId, name: str, changes: Mapping[str, Any]) -> IdentityProvider:
        """Change the named fields (``name``, ``kind`` and the node are fixed)."""
        if not isinstance(changes, Mapping):
            raise InvalidInput("The changes must be a JSON object.")
        current = self.get(tenant_id, name)
        fixed = {"name", "kind", "node"} & set(changes)
        if fixed:
            message = f"{', '.join(sorted(fixed))} cannot be changed."
            raise InvalidInput(message, fields=dict.fromkeys(fixed, "immutable"))
        unknown = set(changes) - {*COMMON_FIELDS, "saml", "oidc"}
        if unknown:
            raise InvalidInput(f"Unknown field(s): {', '.join(sorted(unknown))[:200]}.")
        updated = self._apply_common(current, changes)
        if "saml" in changes:
            if current.kind != "saml":
                raise InvalidInput("This is not a SAML identity provider.", fields={"saml": "invalid"})
            updated = replace(updated, saml=self._saml(current.saml, changes["saml"]))
        if "oidc" in changes:
            if current.kind != "oidc":
                raise InvalidInput("This is not an OpenID Connect identity provider.", fields={"oidc": "invalid"})
            updated = replace(updated, oidc=self._oidc(tenant_id, current.name, current.oidc, changes["oidc"]))
        updated = replace(updated, updated_at=clock.now())
        self._repository.replace(updated)
        self._lists.invalidate(tenant_id)
        return updated

    def delete(self, tenant_id: TenantId, name: str) -> None:
        if not check.NAME.match(name) or not self._repository.delete(tenant_id, name):
            raise NotFound(f"Unknown identity provider '{name[:64]}'.")
        self._lists.invalidate(tenant_id)

    # --- document parts ----------------------------------------------------------------------------------------

    @staticmethod
    def _apply_common(integration: IdentityProvider, document: Mapping[str, Any]) -> IdentityProvider:
        changes: dict[str, Any] = {}
        if "display_name" in document:
            changes["display_name"] = check.check_display_name(document["display_name"], integration.display_name)
        if "enabled" in document:
            changes["enabled"] = check.check_bool(document["enabled"], "enabled")
        if "domains" in document:
            changes["domains"] = check.check_domains(document["domains"])
        if "attribute_mapping" in document:
            changes["attribute_mapping"] = check.check_attribute_mapping(document["attribute_mapping"])
        if "role_mapping" in document:
            changes["role_mapping"] = check.check_role_mapping(document["role_mapping"])
        if "linking" in document:
            changes["linking"] = check.check_linking(document["linking"])
        return replace(integration, **changes)

    @staticmethod
    def _saml(current: SamlSettings | None, part: object) -> SamlSettings:
        if not isinstance(part, Mapping):
            raise InvalidInput("saml must be an object with the IdP metadata.", fields={"saml": "required"})
        unknown = set(part) - {"metadata", "allow_unsolicited"}
        if unknown:
            raise InvalidInput(f"Unknown saml field(s): {', '.join(sorted(unknown))[:200]}.")
        if "metadata" in part or current is None:
            metadata, entity_id = check.check_metadata(part.get("metadata"))
        else:
            metadata, entity_id = current.metadata_xml, current.idp_entity_id
        unsolicited = current.allow_unsolicited if current else False
        if "allow_unsolicited" in part:
            unsolicited = check.check_bool(part["allow_unsolicited"], "allow_unsolicited")
        return SamlSettings(metadata_xml=metadata, idp_entity_id=entity_id, allow_unsolicited=unsolicited)

    def _oidc(self, tenant_id: TenantId, name: str, current: OidcSettings | None, part: object) -> OidcSettings:
        if not isinstance(part, Mapping):
            raise InvalidInput(
                "oidc must be an object (issuer, client_id, client_secret).", fields={"oidc": "required"}
            )
        unknown = set(part) - {"issuer", "client_id", "client_secret", "scopes", "preset"}
        if unknown:
            raise InvalidInput(f"Unknown oidc field(s): {', '.join(sorted(unknown))[:200]}.")
        preset = check.check_preset(part["preset"]) if "preset" in part else (current.preset if current else None)
        defaults = check.PRESETS.get(preset or "", {})
        issuer = part.get("issuer", current.issuer if current else defaults.get("issuer"))
        client_id = part.get("client_id", current.client_id if current else None)
        scopes = part.get(
            "scopes", list(current.scopes) if current else defaults.get("scopes", ["openid", "email", "profile"])
        )
        if "client_secret" in part or current is None:
            secret = check.check_client_secret(part.get("client_secret"))
            blob = self._encryption.encrypt(secret.encode(), _secret_context(tenant_id, name))
        else:
            blob = current.client_secret_blob
        return OidcSettings(
            issuer=check.check_issuer(issuer),
            client_id=check.check_client_id(client_id),
            client_secret_blob=blob,
            scopes=check.check_oidc_scopes(scopes),
            preset=preset,  # type: ignore[arg-type]
        )


def to_document(integration: IdentityProvider, *, detailed: bool = False) -> dict[str, Any]:
    """The public view of an integration: never the client secret; the metadata only when ``detailed``."""
    document: dict[str, Any] = {
        "name": integration.name,
        "kind": integration.kind,
        "display_name": integration.display_name,
        "enabled": integration.enabled,
        "domains": list(integration.domains),
        "attribute_mapping": integration.mapping(),
        "role_mapping": {k: list(v) for k, v in integration.role_mapping.items()},
        "linking": integration.linking,
        "created_at": integration.created_at,
        "updated_at": integration.updated_at,
    }
    if integration.saml is not None:
        document["saml"] = {
            "idp_entity_id": integration.saml.idp_entity_id,
            "allow_unsolicited": integration.saml.allow_unsolicited,
            **saml_urls(integration.tenant_id, integration.name),
            **({"metadata": integration.saml.metadata_xml} if detailed else {}),
        }
    if integration.oidc is not None:
        document["oidc"] = {
            "issuer": integration.oidc.issuer,
            "client_id": integration.oidc.client_id,
            "client_secret_set": bool(integration.oidc.client_secret_blob),
            "scopes": list(integration.oidc.scopes),
            "preset": integration.oidc.preset,
            "redirect_uri": oidc_callback_url(integration.tenant_id, integration.name),
        }
    return document
