"""Composition root: builds each service once per process from its adapters (lazily, for cold start).

Each adapter is assigned to a variable typed as its port, so mypy proves the adapter satisfies it.
"""

from __future__ import annotations

from functools import cache

from chalicelib.core import ports
from chalicelib.services.accounts import AccountService
from chalicelib.services.authentication import PasswordAuthenticator
from chalicelib.services.authorization import AuthorizationService
from chalicelib.services.clients import ClientService
from chalicelib.services.consent import ConsentService
from chalicelib.services.sessions import SessionService
from chalicelib.services.signing_keys import SigningKeyService
from chalicelib.services.tenants import TenantService
from chalicelib.services.tokens import TokenService


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
def password_authenticator() -> PasswordAuthenticator:
    from chalicelib.storage.throttles_repository import DynamoThrottleRepository

    throttles: ports.ThrottleRepository = DynamoThrottleRepository()
    return PasswordAuthenticator(_user_repository(), _credential_repository(), throttles)


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


def local_outbox() -> list[dict[str, object]]:
    """Local stage only: every email and SMS sent through the emulated SES/SNS, newest first."""
    from chalicelib.outbound.local_outbox import read_outbox

    return read_outbox()
