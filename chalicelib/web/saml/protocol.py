"""SAML as a federation protocol: ``prepare`` starts a login (signed AuthnRequest, RelayState = login id) and
``upstream_identity`` turns a validated assertion into the protocol-neutral ``UpstreamIdentity``."""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.federation import IdentityProvider, UpstreamIdentity
from chalicelib.core.ids import TenantId
from chalicelib.core.saml import CLOCK_SKEW_SECONDS, SamlIdentity
from chalicelib.web.errors import SamlError
from chalicelib.web.saml.authn_requests import redirect_to_idp
from chalicelib.web.saml.integrations import config_of

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
# AuthnContextClassRef -> RFC 8176 amr values (only what the IdP says; our own "fed" is added by the seam).
MFA_CONTEXTS = frozenset(
    {
        "https://refeds.org/profile/mfa",
        "http://schemas.microsoft.com/claims/multipleauthn",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
    }
)
PASSWORD_CONTEXTS = frozenset(
    {
        "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    }
)


def prepare(
    tenant_id: TenantId, integration: IdentityProvider, login_id: str, login_hint: str | None, *, fresh: bool = False
) -> tuple[str, dict[str, str]]:
    """(the IdP redirect carrying our signed AuthnRequest, {"request_id": its ID}) for the pending login; a
    ``fresh`` one carries ``ForceAuthn="true"`` and the time it was sent (``fresh_since``)."""
    config = config_of(integration)
    url, request_id = redirect_to_idp(config, {"login_id": login_id}, relay_state=login_id, force_authn=fresh)
    return url, {"request_id": request_id, **({"fresh_since": str(clock.now())} if fresh else {})}


def check_fresh(protocol_state: dict[str, str], identity: SamlIdentity) -> None:
    """A ForceAuthn request must be answered by an authentication made after it (SAML core §3.4.1: the IdP
    MUST authenticate the presenter directly rather than rely on a previous security context)."""
    since = protocol_state.get("fresh_since")
    if since is None:
        return
    if identity.authn_instant is None or identity.authn_instant < int(since) - CLOCK_SKEW_SECONDS:
        raise SamlError(
            "stale_authentication",
            "ForceAuthn was requested but the AuthnInstant is older than the request",
            public="Your identity provider did not ask you to sign in again. Please try again.",
        )


def upstream_identity(integration: IdentityProvider, identity: SamlIdentity) -> UpstreamIdentity:
    """The seam's record: NameID as subject, raw attributes by Name and FriendlyName, plus the fields our mapping
    found under the integration's mapping names (so a NameID-only email reaches the JIT mapping too)."""
    if identity.name_id_format == TRANSIENT:
        raise SamlError(
            "transient_name_id",
            "a transient NameID cannot identify an account",
            public="Your identity provider sent a one-time identifier; it must send a persistent NameID or an email.",
        )
    attributes: dict[str, object] = {name: list(values) for name, values in identity.attributes.items()}
    mapping = integration.mapping()
    for target, value in (
        ("email", identity.email),
        ("given_name", identity.given_name),
        ("family_name", identity.family_name),
        ("name", identity.name),
    ):
        source = mapping.get(target)
        if source and value and not attributes.get(source):
            attributes[source] = [value]
    if mapping.get("groups") and identity.groups and not attributes.get(mapping["groups"]):
        attributes[mapping["groups"]] = list(identity.groups)
    context = identity.authn_context or ""
    amr = ("mfa",) if context in MFA_CONTEXTS else ("pwd",) if context in PASSWORD_CONTEXTS else ()
    return UpstreamIdentity(
        integration=integration.name,
        subject=identity.subject,
        attributes=attributes,
        authn_time=identity.authn_instant or clock.now(),
        amr=amr,
        email_verified=True,
    )
