"""Federation entities: identity-provider integrations, the upstream identity a protocol adapter hands over, and
the pending federated login that carries an authorization request across the round trip to the upstream IdP.

An ``IdentityProvider`` belongs to one tier node and is inherited downward: the integrations effective for a
node are its own and its ancestors' (``effective_integrations``). Names are unique per tenant (they appear in
URLs: ``/t/{tenant}/saml/{name}/acs``, ``/t/{tenant}/federation/{name}/callback``, ``?idp={name}``).

``attribute_mapping`` maps each of our profile fields (``MAPPED_FIELDS``) to the upstream attribute or claim
name that feeds it; ``map_attributes`` applies it. ``role_mapping`` maps an upstream group to role names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.core.entities import TenantTree
from chalicelib.core.ids import NodeId, TenantId, UserId

IdpKind = Literal["saml", "oidc"]
LinkingPolicy = Literal["verified_email", "sign_in", "none"]
OidcPreset = Literal["google", "microsoft"]
LINKING_POLICIES: tuple[LinkingPolicy, ...] = ("verified_email", "sign_in", "none")
MAPPED_FIELDS = ("email", "given_name", "family_name", "name", "groups")

DEFAULT_MAPPINGS: dict[str, dict[str, str]] = {
    # pysaml2 converts standard attribute URIs (eduPerson / X.500) to these friendly names.
    "saml": {
        "email": "mail",
        "given_name": "givenName",
        "family_name": "sn",
        "name": "displayName",
        "groups": "groups",
    },
    "oidc": {
        "email": "email",
        "given_name": "given_name",
        "family_name": "family_name",
        "name": "name",
        "groups": "groups",
    },
}


@dataclass(frozen=True)
class SamlSettings:
    """The upstream SAML IdP: its metadata document (well-formed, size-limited) and whether it may start logins."""

    metadata_xml: str
    idp_entity_id: str
    allow_unsolicited: bool = False


@dataclass(frozen=True)
class OidcSettings:
    """The upstream OpenID provider; the client secret is stored only envelope-encrypted (``client_secret_blob``)."""

    issuer: str
    client_id: str
    client_secret_blob: bytes
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    preset: OidcPreset | None = None


@dataclass(frozen=True)
class IdentityProvider:
    tenant_id: TenantId
    name: str
    kind: IdpKind
    node_id: NodeId
    display_name: str
    enabled: bool = True
    domains: tuple[str, ...] = ()  # home-realm discovery: email domains sent to this provider
    attribute_mapping: dict[str, str] = field(default_factory=dict)
    role_mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)
    linking: LinkingPolicy = "verified_email"
    saml: SamlSettings | None = None
    oidc: OidcSettings | None = None
    created_at: int = 0
    updated_at: int = 0

    def mapping(self) -> dict[str, str]:
        """The attribute mapping with the protocol's defaults for fields it does not name."""
        return {**DEFAULT_MAPPINGS[self.kind], **self.attribute_mapping}


def effective_integrations(
    tree: TenantTree, node_id: NodeId, integrations: Sequence[IdentityProvider]
) -> list[IdentityProvider]:
    """The enabled integrations of ``node_id`` and its ancestors, root first (inheritance downward)."""
    if node_id not in tree.nodes:
        return []
    order = {n.node_id: i for i, n in enumerate(tree.chain(node_id))}
    found = [i for i in integrations if i.enabled and i.node_id in order]
    return sorted(found, key=lambda i: (order[i.node_id], i.display_name.lower(), i.name))


def discover_by_email(email: str, integrations: Sequence[IdentityProvider]) -> IdentityProvider | None:
    """Home-realm discovery: the first integration (closest to the root) claiming the email's domain."""
    domain = email.rsplit("@", 1)[-1].strip().lower() if "@" in email else ""
    if not domain:
        return None
    return next((i for i in integrations if domain in i.domains), None)


def _values(raw: object) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    return [str(v).strip() for v in items if isinstance(v, str | int | float | bool) and str(v).strip()]


def map_attributes(mapping: Mapping[str, str], attributes: Mapping[str, object]) -> dict[str, Any]:
    """Our fields from upstream attributes: single-valued fields take the first value, ``groups`` all of them."""
    mapped: dict[str, Any] = {}
    for target in MAPPED_FIELDS:
        source = mapping.get(target)
        values = _values(attributes.get(source)) if source else []
        if target == "groups":
            mapped["groups"] = sorted({v[:256] for v in values})[:200]
        elif values:
            mapped[target] = values[0][: 254 if target == "email" else 256]
    return mapped


def roles_for_groups(role_mapping: Mapping[str, Sequence[str]], groups: Sequence[str]) -> list[str]:
    """The role names the mapped upstream groups confer (deduplicated, sorted)."""
    return sorted({role for group in groups for role in role_mapping.get(group, ())})


@dataclass(frozen=True)
class UpstreamIdentity:
    """What a protocol adapter hands over after it has fully validated the upstream response.

    ``subject`` is the stable upstream identifier (SAML NameID of a persistent/unspecified format, OIDC ``sub``);
    ``attributes`` are the raw attributes or claims by name (lists for multi-valued ones), mapped later through
    the integration's mapping. ``email_verified`` says the upstream asserts the email is verified (OIDC claim; a
    SAML IdP of the integration is trusted for the addresses it asserts). ``amr`` names how the upstream
    authenticated the user, as far as it says (OIDC ``amr``; SAML AuthnContextClassRef), without our ``fed``.
    """

    integration: str
    subject: str
    attributes: dict[str, Any]
    authn_time: int
    amr: tuple[str, ...] = ()
    email_verified: bool = True


FederatedLoginStatus = Literal[
    "started", "asserted", "provisioning", "link_required", "provisioned", "failed", "completed", "issued"
]
LinkVia = Literal["portal", "app"]


@dataclass(frozen=True)
class LinkIntent:
    """A signed-in user's request to link another upstream identity (not a sign-in): who asked, through which
        grant (the portal's session, or the app's token), and where from. ``ticket_digest`` is the digest of the
        one-time secret in an app's ``link_url`` (empty for the portal, whose browser is bound at the start). Such a
    login never provisions and never signs anybody in (``services.identity_linking``)."""

    user_id: UserId
    grant_id: str
    jti: str  # of the portal session or the app's access token: both must still be live when the link completes
    via: LinkVia = "portal"
    ticket_digest: str = ""


@dataclass(frozen=True)
class FederatedLogin:
    """One federated sign-in, from the redirect to the upstream IdP until the code is issued.

    ``request`` holds the validated authorization request parameters (None for an IdP-initiated login without
    one); ``csrf_digest`` binds the login to the browser that started it; ``protocol_state`` keeps what the
    protocol adapter needs on return (OIDC: state digest, nonce, PKCE verifier; SAML: the AuthnRequest ID).
    """

    tenant_id: TenantId
    login_id: str
    integration: str
    node_id: NodeId  # the client's tier node (where the login page was shown)
    request: dict[str, Any] | None
    csrf_digest: str
    created_at: int
    expires_at: int
    status: FederatedLoginStatus = "started"
    protocol_state: dict[str, str] = field(default_factory=dict)
    upstream: UpstreamIdentity | None = None
    user_id: UserId | None = None
    error: str | None = None
    linked_by: str | None = None  # how the account was found: "identity", "verified_email", "sign_in", "created"
    completed_at: int = 0
    link: LinkIntent | None = None  # set: this round trip links an identity to a signed-in user, never signs in


@dataclass(frozen=True)
class FederatedIdentity:
    """The link between an account and its identity at one upstream integration (unique per integration)."""

    tenant_id: TenantId
    integration: str
    subject: str
    user_id: UserId
    created_at: int
    last_login_at: int
    roles: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    owns_email: bool = False  # the account was created from this identity: its email follows the upstream


@dataclass(frozen=True)
class Webhook:
    """A tenant's outbound webhook for provisioning events; its HMAC secret is stored only envelope-encrypted."""

    tenant_id: TenantId
    url: str
    secret_blob: bytes
    created_at: int
