"""OAuth clients."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.core.entities import Client
from chalicelib.core.errors import AlreadyExists, NotFound
from chalicelib.core.ids import ClientId, NodeId, TenantId
from chalicelib.storage import keys
from chalicelib.storage.errors import is_condition_failure, save_or_raise, translate_errors
from chalicelib.storage.models import ClientItem, MainItem

SK = "CLIENT"


def _to_client(item: ClientItem) -> Client:
    return Client(
        tenant_id=TenantId(item.tenant_id),
        client_id=ClientId(item.client_id),
        name=item.name,
        client_type=item.client_type,  # type: ignore[arg-type]
        token_endpoint_auth_method=item.auth_method,
        secret_digest=item.secret_digest,
        redirect_uris=tuple(item.redirect_uris or ()),
        post_logout_redirect_uris=tuple(item.post_logout_redirect_uris or ()),
        scopes=tuple(item.scopes or ()),
        grant_types=tuple(item.grant_types or ()),
        tier_node_id=NodeId(item.tier_node_id),
        first_party=bool(item.first_party),
        jwks=item.jwks,
        id_token_alg=item.id_token_alg,
        status=item.status,  # type: ignore[arg-type]
        created_at=int(item.created_at or 0),
        required_attributes=tuple(item.required_attributes or ()),
    )


def _to_item(client: Client) -> ClientItem:
    return ClientItem(
        keys.client(client.tenant_id, client.client_id),
        SK,
        gsi1pk=keys.clients_index(client.tenant_id),
        gsi1sk=client.client_id,
        tenant_id=client.tenant_id,
        client_id=client.client_id,
        name=client.name,
        client_type=client.client_type,
        auth_method=client.token_endpoint_auth_method,
        secret_digest=client.secret_digest,
        redirect_uris=list(client.redirect_uris),
        post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        scopes=list(client.scopes),
        grant_types=list(client.grant_types),
        tier_node_id=client.tier_node_id,
        first_party=client.first_party,
        jwks=client.jwks,
        id_token_alg=client.id_token_alg,
        status=client.status,
        created_at=client.created_at,
        required_attributes=list(client.required_attributes) or None,
    )


class DynamoClientRepository:
    @translate_errors
    def get(self, tenant_id: TenantId, client_id: ClientId) -> Client | None:
        try:
            return _to_client(ClientItem.get(keys.client(tenant_id, client_id), SK))
        except DoesNotExist:
            return None

    @translate_errors
    def create(self, client: Client) -> None:
        save_or_raise(
            _to_item(client), MainItem.pk.does_not_exist(), AlreadyExists("A client with this id already exists.")
        )

    @translate_errors
    def replace(self, client: Client) -> None:
        save_or_raise(_to_item(client), MainItem.pk.exists(), NotFound("Unknown client."))

    @translate_errors
    def list(self, tenant_id: TenantId) -> list[Client]:
        return [
            _to_client(i) for i in ClientItem.gsi1.query(keys.clients_index(tenant_id)) if isinstance(i, ClientItem)
        ]

    @translate_errors
    def delete(self, tenant_id: TenantId, client_id: ClientId) -> bool:
        try:
            ClientItem(keys.client(tenant_id, client_id), SK).delete(condition=MainItem.pk.exists())
        except DeleteError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
