"""Federated sign-ins in progress and the links between accounts and upstream identities."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.update import Action

from chalicelib.core.digests import secret_digest
from chalicelib.core.errors import AlreadyExists, CodeInvalid
from chalicelib.core.federation import FederatedIdentity, FederatedLogin, LinkIntent, LinkVia, UpstreamIdentity
from chalicelib.core.ids import NodeId, TenantId, UserId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, translate_errors, update_or_raise
from chalicelib.storage.models import FederatedIdentityItem, FederatedLoginItem, MainItem

LOGIN = "LOGIN"
IDENTITY = "FEDID"
UPDATABLE = ("upstream", "user_id", "error", "linked_by", "completed_at", "csrf_digest", "protocol_state")


def _upstream_to_json(upstream: UpstreamIdentity | None) -> dict[str, Any] | None:
    if upstream is None:
        return None
    return {
        "integration": upstream.integration,
        "subject": upstream.subject,
        "attributes": upstream.attributes,
        "authn_time": upstream.authn_time,
        "amr": list(upstream.amr),
        "email_verified": upstream.email_verified,
    }


def _upstream_from_json(value: dict[str, Any] | None) -> UpstreamIdentity | None:
    if not value:
        return None
    return UpstreamIdentity(
        integration=str(value["integration"]),
        subject=str(value["subject"]),
        attributes=dict(value.get("attributes") or {}),
        authn_time=int(value.get("authn_time") or 0),
        amr=tuple(value.get("amr") or ()),
        email_verified=bool(value.get("email_verified", False)),
    )


def _link_to_json(link: LinkIntent | None) -> dict[str, str] | None:
    if link is None:
        return None
    return {
        "user_id": link.user_id,
        "grant_id": link.grant_id,
        "jti": link.jti,
        "via": link.via,
        "ticket_digest": link.ticket_digest,
    }


def _link_from_json(value: dict[str, Any] | None) -> LinkIntent | None:
    if not value:
        return None
    via: LinkVia = "app" if value.get("via") == "app" else "portal"
    return LinkIntent(
        UserId(str(value["user_id"])),
        str(value["grant_id"]),
        str(value.get("jti") or ""),
        via,
        str(value.get("ticket_digest") or ""),
    )


def _to_login(item: FederatedLoginItem) -> FederatedLogin:
    return FederatedLogin(
        tenant_id=TenantId(item.tenant_id),
        login_id=item.login_id,
        integration=item.integration,
        node_id=NodeId(item.node_id),
        request=item.request,
        csrf_digest=item.csrf_digest or "",
        created_at=int(item.created_at),
        expires_at=int(item.expires_at),
        status=item.status,  # type: ignore[arg-type]
        protocol_state={str(k): str(v) for k, v in (item.protocol_state or {}).items()},
        upstream=_upstream_from_json(item.upstream),
        user_id=UserId(item.user_id) if item.user_id else None,
        error=item.error,
        linked_by=item.linked_by,
        completed_at=int(item.completed_at or 0),
        link=_link_from_json(item.link),
    )


def _to_identity(item: FederatedIdentityItem) -> FederatedIdentity:
    return FederatedIdentity(
        tenant_id=TenantId(item.tenant_id),
        integration=item.integration,
        subject=item.subject,
        user_id=UserId(item.user_id),
        created_at=int(item.created_at),
        last_login_at=int(item.last_login_at),
        roles=tuple(item.roles or ()),
        groups=tuple(item.groups or ()),
        owns_email=bool(item.owns_email),
    )


class DynamoFederatedLoginRepository:
    @translate_errors
    def create(self, login: FederatedLogin) -> None:
        item = FederatedLoginItem(
            keys.federated_login(login.tenant_id, login.login_id),
            LOGIN,
            ttl=datetime.fromtimestamp(login.expires_at + 3600, tz=UTC),
            tenant_id=login.tenant_id,
            login_id=login.login_id,
            integration=login.integration,
            node_id=login.node_id,
            request=login.request,
            csrf_digest=login.csrf_digest,
            created_at=login.created_at,
            expires_at=login.expires_at,
            status=login.status,
            protocol_state=dict(login.protocol_state),
            link=_link_to_json(login.link),
        )
        if login.link is not None:  # indexed by its user, so that erasing the account finds it
            item.gsi1pk = keys.user_federated_logins_index(login.tenant_id, login.link.user_id)
            item.gsi1sk = login.login_id
        item.save(condition=MainItem.pk.does_not_exist())

    @translate_errors
    def get(self, tenant_id: TenantId, login_id: str) -> FederatedLogin | None:
        try:
            return _to_login(FederatedLoginItem.get(keys.federated_login(tenant_id, login_id), LOGIN))
        except DoesNotExist:
            return None

    @translate_errors
    def transition(
        self,
        tenant_id: TenantId,
        login_id: str,
        *,
        expected: tuple[str, ...],
        status: str,
        now: int,
        changes: dict[str, Any] | None = None,
    ) -> FederatedLogin:
        item = FederatedLoginItem(keys.federated_login(tenant_id, login_id), LOGIN)
        actions: list[Action] = [FederatedLoginItem.status.set(status)]
        for name, value in (changes or {}).items():
            if name not in UPDATABLE:
                raise ValueError(f"cannot change {name}")
            stored = _upstream_to_json(value) if name == "upstream" else value
            attribute = getattr(FederatedLoginItem, name)
            actions.append(attribute.remove() if stored is None else attribute.set(stored))
            if name == "user_id" and stored:
                # Indexed by user once known, so that erasing the account finds its pending federated logins.
                actions.append(MainItem.gsi1pk.set(keys.user_federated_logins_index(tenant_id, str(stored))))
                actions.append(MainItem.gsi1sk.set(login_id))
        condition = (
            MainItem.pk.exists() & FederatedLoginItem.status.is_in(*expected) & (FederatedLoginItem.expires_at > now)
        )
        update_or_raise(item, actions, condition, CodeInvalid(detail=f"federated login not in {expected} or expired"))
        return _to_login(item)


class DynamoFederatedIdentityRepository:
    @translate_errors
    def get(self, tenant_id: TenantId, integration: str, subject: str) -> FederatedIdentity | None:
        try:
            item = FederatedIdentityItem.get(
                keys.federated_identity(tenant_id, integration, secret_digest(subject)), IDENTITY
            )
        except DoesNotExist:
            return None
        return _to_identity(item)

    @translate_errors
    def save(self, identity: FederatedIdentity, *, create: bool) -> None:
        item = FederatedIdentityItem(
            keys.federated_identity(identity.tenant_id, identity.integration, secret_digest(identity.subject)),
            IDENTITY,
            gsi1pk=keys.user_federated_identities_index(identity.tenant_id, identity.user_id),
            gsi1sk=identity.integration,
            tenant_id=identity.tenant_id,
            integration=identity.integration,
            subject=identity.subject,
            user_id=identity.user_id,
            created_at=identity.created_at,
            last_login_at=identity.last_login_at,
            roles=list(identity.roles),
            groups=list(identity.groups),
            owns_email=True if identity.owns_email else None,
        )
        try:
            item.save(condition=MainItem.pk.does_not_exist() if create else None)
        except PutError as error:
            if create and is_condition_failure(error):
                raise AlreadyExists("This upstream identity is already linked.") from error
            raise

    @translate_errors
    def list_for_user(self, tenant_id: TenantId, user_id: UserId) -> list[FederatedIdentity]:
        index = keys.user_federated_identities_index(tenant_id, user_id)
        return [_to_identity(i) for i in MainItem.gsi1.query(index) if isinstance(i, FederatedIdentityItem)]
