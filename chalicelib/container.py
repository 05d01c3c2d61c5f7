"""Composition root: builds each service once per process from its adapters (lazily, for cold start).

Each adapter is assigned to a variable typed as its port, so mypy proves the adapter satisfies it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.core import ports
    from chalicelib.services.account_deletion import AccountDeletionService
    from chalicelib.services.account_profile import AccountProfileService
    from chalicelib.services.accounts import AccountService
    from chalicelib.services.activity import SignInActivity
    from chalicelib.services.analytics import AnalyticsService
    from chalicelib.services.anonymous import AnonymousService
    from chalicelib.services.audit import AuditService
    from chalicelib.services.authentication import PasswordAuthenticator, PasswordChanger
    from chalicelib.services.authorization import AuthorizationService
    from chalicelib.services.clients import ClientService
    from chalicelib.services.consent import ConsentService
    from chalicelib.services.consent_receipts import ConsentReceiptService
    from chalicelib.services.data_export import DataExportService
    from chalicelib.services.devices import DeviceService
    from chalicelib.services.emails import Mailer
    from chalicelib.services.federation import FederationService
    from chalicelib.services.identity_linking import IdentityLinkingService
    from chalicelib.services.identity_providers import IdentityProviderService
    from chalicelib.services.linked_identities import LinkedIdentityService
    from chalicelib.services.mfa.passkeys import PasskeyService
    from chalicelib.services.mfa.service import MfaService
    from chalicelib.services.phone_change import PhoneChangeService
    from chalicelib.services.provisioning import GroupService, ProvisioningService
    from chalicelib.services.recovery import RecoveryService
    from chalicelib.services.registration import RegistrationService
    from chalicelib.services.request_limits import RequestLimiter
    from chalicelib.services.risk import RiskService
    from chalicelib.services.roles import RoleService
    from chalicelib.services.saml_sp import SamlSpService
    from chalicelib.services.sessions import SessionService
    from chalicelib.services.signing_keys import SigningKeyService
    from chalicelib.services.tenants import TenantService
    from chalicelib.services.tier_admin import NodeAdminService
    from chalicelib.services.token_events import TokenEvents
    from chalicelib.services.tokens import TokenService
    from chalicelib.services.upstream_oidc import UpstreamOidcService
    from chalicelib.services.user_admin import UserAdminService
    from chalicelib.services.verification import VerificationFlow
    from chalicelib.services.webhooks import WebhookService


@cache
def _tenant_repository() -> ports.TenantRepository:
    from chalicelib.storage.tenants_repository import DynamoTenantRepository

    return DynamoTenantRepository()


@cache
def _user_repository() -> ports.UserRepository:
    from chalicelib.storage.users_repository import DynamoUserRepository

    return DynamoUserRepository()


@cache
def _credential_repository() -> ports.CredentialRepository:
    from chalicelib.storage.users_repository import DynamoCredentialRepository

    return DynamoCredentialRepository()


@cache
def _authorization_repository() -> ports.AuthorizationRepository:
    from chalicelib.storage.authorizations_repository import DynamoAuthorizationRepository

    return DynamoAuthorizationRepository()


@cache
def _grant_repository() -> ports.GrantRepository:
    from chalicelib.storage.grants_repository import DynamoGrantRepository

    return DynamoGrantRepository()


@cache
def tenants() -> TenantService:
    from chalicelib.services.tenants import TenantService

    return TenantService(_tenant_repository())


@cache
def clients() -> ClientService:
    from chalicelib.services.clients import ClientService
    from chalicelib.storage.clients_repository import DynamoClientRepository

    repository: ports.ClientRepository = DynamoClientRepository()
    return ClientService(repository)


@cache
def signing_keys() -> SigningKeyService:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption
    from chalicelib.services.signing_keys import SigningKeyService
    from chalicelib.storage.signing_keys_repository import DynamoSigningKeyRepository

    repository: ports.SigningKeyRepository = DynamoSigningKeyRepository()
    encryption: ports.KeyEncryption = KmsEnvelopeEncryption()
    return SigningKeyService(repository, encryption)


@cache
def tokens() -> TokenService:
    from chalicelib.services.tokens import TokenService

    return TokenService(signing_keys())


@cache
def accounts() -> AccountService:
    from chalicelib.services.accounts import AccountService

    return AccountService(_user_repository(), _credential_repository())


@cache
def _throttle_repository() -> ports.ThrottleRepository:
    from chalicelib.storage.throttles_repository import DynamoThrottleRepository

    return DynamoThrottleRepository()


@cache
def password_authenticator() -> PasswordAuthenticator:
    from chalicelib.services.authentication import PasswordAuthenticator

    return PasswordAuthenticator(_user_repository(), _credential_repository(), _throttle_repository())


@cache
def request_limiter() -> RequestLimiter:
    from chalicelib.services.request_limits import RequestLimiter

    return RequestLimiter(_throttle_repository())


@cache
def sessions() -> SessionService:
    from chalicelib.services.sessions import SessionService

    return SessionService(_authorization_repository())


@cache
def authorization() -> AuthorizationService:
    from chalicelib.services.authorization import AuthorizationService

    return AuthorizationService(_authorization_repository(), _grant_repository(), tokens(), token_events())


@cache
def consent() -> ConsentService:
    from chalicelib.services.consent import ConsentService
    from chalicelib.storage.consents_repository import DynamoConsentRepository

    repository: ports.ConsentRepository = DynamoConsentRepository()
    return ConsentService(repository, consent_receipts())


@cache
def _verification_repository() -> ports.VerificationRepository:
    from chalicelib.storage.verifications_repository import DynamoVerificationRepository

    return DynamoVerificationRepository()


@cache
def email_sender() -> ports.EmailSender:
    from chalicelib.outbound.ses import SesEmailSender

    return SesEmailSender()


@cache
def workflows() -> ports.WorkflowEngine:
    from chalicelib.outbound.stepfunctions import StepFunctionsEngine

    return StepFunctionsEngine()


@cache
def human_verifier(kind: str) -> ports.HumanVerifier:
    """The CAPTCHA verifier a tenant's ``registration.captcha`` names (``turnstile`` or ``local``)."""
    from chalicelib.outbound.human_verification import LocalHumanVerifier, TurnstileVerifier

    if kind == "turnstile":
        return TurnstileVerifier()
    if kind == "local":
        return LocalHumanVerifier()
    raise ValueError(f"unknown human verifier {kind!r}")


@cache
def mailer() -> Mailer:
    from chalicelib.services.emails import Mailer

    return Mailer(email_sender(), tenants())


@cache
def verification_flow() -> VerificationFlow:
    from chalicelib.services.verification import VerificationFlow

    return VerificationFlow(_user_repository(), _verification_repository(), workflows(), mailer(), audit())


@cache
def registration() -> RegistrationService:
    from chalicelib.services.registration import RegistrationService

    return RegistrationService(
        _user_repository(), _verification_repository(), workflows(), mailer(), human_verifier, audit()
    )


@cache
def recovery() -> RecoveryService:
    from chalicelib.services.recovery import RecoveryService

    return RecoveryService(
        _user_repository(),
        _verification_repository(),
        _authorization_repository(),
        _grant_repository(),
        mailer(),
        verification_flow(),
        audit(),
    )


@cache
def _provisioning_repository() -> ports.ProvisioningRepository:
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository

    return DynamoProvisioningRepository()


@cache
def provisioning() -> ProvisioningService:
    from chalicelib.services.provisioning import ProvisioningService

    return ProvisioningService(accounts(), _provisioning_repository(), groups(), roles(), registration())


@cache
def user_admin() -> UserAdminService:
    from chalicelib.services.user_admin import UserAdminService

    return UserAdminService(
        accounts(), _provisioning_repository(), _authorization_repository(), _grant_repository(), groups(), roles()
    )


@cache
def groups() -> GroupService:
    from chalicelib.services.provisioning import GroupService
    from chalicelib.storage.groups_repository import DynamoGroupRepository

    repository: ports.GroupRepository = DynamoGroupRepository()
    return GroupService(repository, _user_repository())


@cache
def audit() -> AuditService:
    from chalicelib.services.audit import AuditService
    from chalicelib.storage.audit_repository import DynamoAuditRepository

    repository: ports.AuditRepository = DynamoAuditRepository()
    return AuditService(repository)


@cache
def roles() -> RoleService:
    from chalicelib.services.roles import RoleService
    from chalicelib.storage.roles_repository import DynamoRoleRepository

    repository: ports.RoleRepository = DynamoRoleRepository()
    return RoleService(repository, tenants())


@cache
def identity_providers() -> IdentityProviderService:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption
    from chalicelib.services.identity_providers import IdentityProviderService
    from chalicelib.storage.identity_providers_repository import DynamoIdentityProviderRepository

    repository: ports.IdentityProviderRepository = DynamoIdentityProviderRepository()
    encryption: ports.KeyEncryption = KmsEnvelopeEncryption()
    return IdentityProviderService(repository, encryption, tenants())


@cache
def saml_sp() -> SamlSpService:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption
    from chalicelib.services.saml_sp import SamlSpService
    from chalicelib.storage.saml_repository import DynamoSamlRepository

    repository: ports.SamlRepository = DynamoSamlRepository()
    encryption: ports.KeyEncryption = KmsEnvelopeEncryption()
    return SamlSpService(repository, encryption)


@cache
def http_client() -> ports.HttpClient:
    from chalicelib.outbound.http_client import Urllib3HttpClient

    return Urllib3HttpClient()


@cache
def federation() -> FederationService:
    from chalicelib.services.federation import FederationService
    from chalicelib.storage.federation_repository import (
        DynamoFederatedIdentityRepository,
        DynamoFederatedLoginRepository,
    )

    logins: ports.FederatedLoginRepository = DynamoFederatedLoginRepository()
    identities: ports.FederatedIdentityRepository = DynamoFederatedIdentityRepository()
    return FederationService(
        logins,
        identities,
        identity_providers(),
        tenants(),
        accounts(),
        _user_repository(),
        _provisioning_repository(),
        audit(),
        workflows(),
        webhooks(),
        roles(),
    )


@cache
def webhooks() -> WebhookService:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption
    from chalicelib.services.webhooks import WebhookService
    from chalicelib.storage.webhooks_repository import DynamoWebhookRepository

    repository: ports.WebhookRepository = DynamoWebhookRepository()
    encryption: ports.KeyEncryption = KmsEnvelopeEncryption()
    return WebhookService(repository, encryption, http_client())


@cache
def upstream_oidc() -> UpstreamOidcService:
    from chalicelib.services.upstream_oidc import UpstreamOidcService

    return UpstreamOidcService(http_client(), identity_providers())


@cache
def node_admin() -> NodeAdminService:
    from chalicelib.services.tier_admin import NodeAdminService

    return NodeAdminService(tenants(), _provisioning_repository(), user_admin(), clients(), roles())


@cache
def anonymous() -> AnonymousService:
    from chalicelib.services.anonymous import AnonymousService
    from chalicelib.storage.anonymous_repository import DynamoAnonymousRepository

    repository: ports.AnonymousRepository = DynamoAnonymousRepository()
    return AnonymousService(repository, tokens(), registration(), token_events())


def local_outbox() -> list[dict[str, object]]:
    """Local stage only: every email and SMS sent through the emulated SES/SNS, newest first."""
    from chalicelib.outbound.local_outbox import read_outbox

    return read_outbox()


# --- MFA (issue 5) ---------------------------------------------------------------------------------------------


@cache
def sms_sender() -> ports.SmsSender:
    from chalicelib.outbound.sns import SnsSmsSender

    return SnsSmsSender()


@cache
def _mfa_repository() -> ports.MfaRepository:
    from chalicelib.storage.mfa_repository import DynamoMfaRepository

    return DynamoMfaRepository()


@cache
def _secret_encryption() -> ports.KeyEncryption:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption

    return KmsEnvelopeEncryption()


@cache
def mfa() -> MfaService:
    from chalicelib.services.mfa.service import MfaService

    return MfaService(
        _mfa_repository(), _throttle_repository(), _secret_encryption(), email_sender(), sms_sender(), audit()
    )


@cache
def password_changer() -> PasswordChanger:
    from chalicelib.services.authentication import PasswordChanger

    return PasswordChanger(_credential_repository(), audit())


@cache
def alerts() -> ports.AlertPublisher:
    """The SNS topic, and the EventBridge bus as well when one is configured (``GATEHOUSE_ALERTS_EVENT_BUS``)."""
    from chalicelib.config import settings
    from chalicelib.outbound.alert_fanout import FanOutAlertPublisher
    from chalicelib.outbound.sns_alerts import SnsAlertPublisher

    sinks: list[tuple[str, ports.AlertPublisher]] = [("sns", SnsAlertPublisher())]
    if settings().alerts_event_bus:
        from chalicelib.outbound.eventbridge_alerts import EventBridgeAlertPublisher

        sinks.append(("eventbridge", EventBridgeAlertPublisher()))
    return FanOutAlertPublisher(sinks)


@cache
def risk() -> RiskService:
    from chalicelib.services.risk import RiskService
    from chalicelib.storage.risk_repository import DynamoRiskRepository

    repository: ports.RiskRepository = DynamoRiskRepository()
    return RiskService(repository, alerts(), audit())


# --- self-service account and privacy (issue 8) ----------------------------------------------------------------


@cache
def _account_data_repository() -> ports.AccountDataRepository:
    from chalicelib.storage.account_data_repository import DynamoAccountDataRepository

    return DynamoAccountDataRepository()


@cache
def _key_encryption() -> ports.KeyEncryption:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption

    return KmsEnvelopeEncryption()


@cache
def sign_in_activity() -> SignInActivity:
    from chalicelib.services.activity import SignInActivity

    return SignInActivity(audit())


@cache
def devices() -> DeviceService:
    from chalicelib.services.devices import DeviceService

    return DeviceService(_authorization_repository(), _grant_repository(), clients())


@cache
def account_profile() -> AccountProfileService:
    from chalicelib.services.account_profile import AccountProfileService

    return AccountProfileService(_account_data_repository(), _credential_repository(), password_authenticator())


@cache
def consent_receipts() -> ConsentReceiptService:
    from chalicelib.services.consent_receipts import ConsentReceiptService

    def controller_name(tenant_id: str) -> str:
        tree = tenants().tree(tenant_id)
        return str(tenants().effective(tree.tenant_id).get("branding", "display_name") or tree.root.name)

    return ConsentReceiptService(_account_data_repository(), controller_name)


@cache
def data_exports() -> DataExportService:
    from chalicelib.services.data_export import DataExportService
    from chalicelib.storage.consents_repository import DynamoConsentRepository

    consents: ports.ConsentRepository = DynamoConsentRepository()
    return DataExportService(
        _account_data_repository(),
        _user_repository(),
        _credential_repository(),
        _authorization_repository(),
        _grant_repository(),
        consents,
        audit(),
        _key_encryption(),
        workflows(),
        mailer(),
        lambda tenant_id, user: tenants().effective(tenant_id, user.tier_node_id),
    )


@cache
def account_deletion() -> AccountDeletionService:
    from chalicelib.services.account_deletion import AccountDeletionService

    return AccountDeletionService(
        _account_data_repository(),
        _user_repository(),
        password_authenticator(),
        devices(),
        audit(),
        workflows(),
        mailer(),
        groups().remove_member,
    )


@cache
def passkeys() -> PasskeyService:
    from chalicelib.services.mfa.passkeys import PasskeyService

    return PasskeyService(mfa(), _mfa_repository())


@cache
def linked_identities() -> LinkedIdentityService:
    from chalicelib.services.linked_identities import LinkedIdentityService
    from chalicelib.storage.federation_repository import DynamoFederatedIdentityRepository

    identities: ports.FederatedIdentityRepository = DynamoFederatedIdentityRepository()
    return LinkedIdentityService(identities, _account_data_repository(), _credential_repository())


@cache
def phone_change() -> PhoneChangeService:
    from chalicelib.services.phone_change import PhoneChangeService

    return PhoneChangeService(_account_data_repository(), sms_sender())


# --- identity analytics (issue 9) ------------------------------------------------------------------------------


@cache
def analytics() -> AnalyticsService:
    from chalicelib.services.analytics import AnalyticsService
    from chalicelib.storage.analytics_repository import DynamoAnalyticsRepository

    repository: ports.AnalyticsRepository = DynamoAnalyticsRepository()
    return AnalyticsService(repository)


# --- linking another identity to a signed-in account (issue 8) -------------------------------------------------


@cache
def identity_linking() -> IdentityLinkingService:
    from chalicelib.services.identity_linking import IdentityLinkingService
    from chalicelib.storage.federation_repository import DynamoFederatedIdentityRepository

    identities: ports.FederatedIdentityRepository = DynamoFederatedIdentityRepository()
    return IdentityLinkingService(federation(), identities, identity_providers(), audit())


@cache
def token_events() -> TokenEvents:
    from chalicelib.outbound.audit_log import LogLineAuditChannel
    from chalicelib.services.token_events import TokenEvents

    channel: ports.AuditEventChannel = LogLineAuditChannel()
    return TokenEvents(audit(), channel)
