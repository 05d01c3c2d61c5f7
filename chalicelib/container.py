"""Composition root: builds each service once per process from its adapters (lazily, for cold start).

Each adapter is assigned to a variable typed as its port, so mypy proves the adapter satisfies it.
"""

from __future__ import annotations

from functools import cache

from chalicelib.core import ports
from chalicelib.services.accounts import AccountService
from chalicelib.services.anonymous import AnonymousService
from chalicelib.services.audit import AuditService
from chalicelib.services.authentication import PasswordAuthenticator
from chalicelib.services.authorization import AuthorizationService
from chalicelib.services.clients import ClientService
from chalicelib.services.consent import ConsentService
from chalicelib.services.emails import Mailer
from chalicelib.services.provisioning import GroupService, ProvisioningService
from chalicelib.services.recovery import RecoveryService
from chalicelib.services.registration import RegistrationService
from chalicelib.services.request_limits import RequestLimiter
from chalicelib.services.roles import RoleService
from chalicelib.services.sessions import SessionService
from chalicelib.services.signing_keys import SigningKeyService
from chalicelib.services.tenants import TenantService
from chalicelib.services.tier_admin import NodeAdminService
from chalicelib.services.tokens import TokenService
from chalicelib.services.user_admin import UserAdminService
from chalicelib.services.verification import VerificationFlow


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
    return TenantService(_tenant_repository())


@cache
def clients() -> ClientService:
    from chalicelib.storage.clients_repository import DynamoClientRepository

    repository: ports.ClientRepository = DynamoClientRepository()
    return ClientService(repository)


@cache
def signing_keys() -> SigningKeyService:
    from chalicelib.outbound.kms_envelope import KmsEnvelopeEncryption
    from chalicelib.storage.signing_keys_repository import DynamoSigningKeyRepository

    repository: ports.SigningKeyRepository = DynamoSigningKeyRepository()
    encryption: ports.KeyEncryption = KmsEnvelopeEncryption()
    return SigningKeyService(repository, encryption)


@cache
def tokens() -> TokenService:
    return TokenService(signing_keys())


@cache
def accounts() -> AccountService:
    return AccountService(_user_repository(), _credential_repository())


@cache
def _throttle_repository() -> ports.ThrottleRepository:
    from chalicelib.storage.throttles_repository import DynamoThrottleRepository

    return DynamoThrottleRepository()


@cache
def password_authenticator() -> PasswordAuthenticator:
    return PasswordAuthenticator(_user_repository(), _credential_repository(), _throttle_repository())


@cache
def request_limiter() -> RequestLimiter:
    return RequestLimiter(_throttle_repository())


@cache
def sessions() -> SessionService:
    return SessionService(_authorization_repository())


@cache
def authorization() -> AuthorizationService:
    return AuthorizationService(_authorization_repository(), _grant_repository(), tokens())


@cache
def consent() -> ConsentService:
    from chalicelib.storage.consents_repository import DynamoConsentRepository

    repository: ports.ConsentRepository = DynamoConsentRepository()
    return ConsentService(repository)


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
    return Mailer(email_sender(), tenants())


@cache
def verification_flow() -> VerificationFlow:
    return VerificationFlow(_user_repository(), _verification_repository(), workflows(), mailer())


@cache
def registration() -> RegistrationService:
    return RegistrationService(_user_repository(), _verification_repository(), workflows(), mailer(), human_verifier)


@cache
def recovery() -> RecoveryService:
    return RecoveryService(
        _user_repository(),
        _verification_repository(),
        _authorization_repository(),
        _grant_repository(),
        mailer(),
        verification_flow(),
    )


@cache
def _provisioning_repository() -> ports.ProvisioningRepository:
    from chalicelib.storage.provisioning_repository import DynamoProvisioningRepository

    return DynamoProvisioningRepository()


@cache
def provisioning() -> ProvisioningService:
    return ProvisioningService(accounts(), _provisioning_repository(), groups(), roles(), registration())


@cache
def user_admin() -> UserAdminService:
    return UserAdminService(
        accounts(), _provisioning_repository(), _authorization_repository(), _grant_repository(), groups(), roles()
    )


@cache
def groups() -> GroupService:
    from chalicelib.storage.groups_repository import DynamoGroupRepository

    repository: ports.GroupRepository = DynamoGroupRepository()
    return GroupService(repository, _user_repository())


@cache
def audit() -> AuditService:
    from chalicelib.storage.audit_repository import DynamoAuditRepository

    repository: ports.AuditRepository = DynamoAuditRepository()
    return AuditService(repository)


@cache
def roles() -> RoleService:
    from chalicelib.storage.roles_repository import DynamoRoleRepository

    repository: ports.RoleRepository = DynamoRoleRepository()
    return RoleService(repository, tenants())


@cache
def node_admin() -> NodeAdminService:
    return NodeAdminService(tenants(), _provisioning_repository(), user_admin(), clients(), roles())


@cache
def anonymous() -> AnonymousService:
    from chalicelib.storage.anonymous_repository import DynamoAnonymousRepository

    repository: ports.AnonymousRepository = DynamoAnonymousRepository()
    return AnonymousService(repository, tokens(), registration())


def local_outbox() -> list[dict[str, object]]:
    """Local stage only: every email and SMS sent through the emulated SES/SNS, newest first."""
    from chalicelib.outbound.local_outbox import read_outbox

    return read_outbox()
