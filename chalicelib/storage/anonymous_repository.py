"""Anonymous identities: a user item outside the tenant's users index, with a TTL, created in one transaction with
its grant; the upgrade writes the email guard (with the password hash), the pending user (back in the users index,
no TTL) and its verification in one transaction, conditional on the identity still being anonymous."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pynamodb.exceptions import TransactWriteError

from chalicelib.core.entities import AuditEvent, Grant, User, Verification
from chalicelib.core.errors import AlreadyExists, NotFound
from chalicelib.storage.audit_repository import audit_item_for
from chalicelib.storage.connection import transaction
from chalicelib.storage.errors import cancelled_indexes, translate_errors
from chalicelib.storage.grants_repository import grant_item
from chalicelib.storage.models import AuditItem, MainItem, UserItem
from chalicelib.storage.users_repository import login_item_for, normalize_email, user_item_for
from chalicelib.storage.verifications_repository import verification_item


class DynamoAnonymousRepository:
    @translate_errors
    def create_anonymous(self, user: User, grant: Grant, *, expires_at: int, events: Sequence[AuditEvent] = ()) -> None:
        item = user_item_for(user, "")
        item.gsi1pk = None  # not listed with the tenant's users (admin API, SCIM) unless upgraded
        item.gsi1sk = None
        item.ttl = dt.datetime.fromtimestamp(expires_at + 86400, tz=dt.UTC)
        with transaction() as tx:
            tx.save(item, condition=MainItem.pk.does_not_exist())
            tx.save(grant_item(grant), condition=MainItem.pk.does_not_exist())
            for event in events:
                tx.save(audit_item_for(event), condition=AuditItem.pk.does_not_exist())

    @translate_errors
    def upgrade(self, user: User, password_hash: str, verification: Verification) -> None:
        email = normalize_email(user.email)
        login = login_item_for(user, email, password_hash)
        try:
            with transaction() as tx:
                tx.save(login, condition=MainItem.pk.does_not_exist())
                tx.save(user_item_for(user, email), condition=UserItem.anonymous == True)  # noqa: E712
                tx.save(verification_item(verification), condition=MainItem.pk.does_not_exist())
        except TransactWriteError as error:
            failed = cancelled_indexes(error)
            if 0 in failed:
                raise AlreadyExists("An account with this email already exists.") from error
            if failed:
                raise NotFound("The anonymous identity has expired or was upgraded already.") from error
            raise
