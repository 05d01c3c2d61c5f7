"""The user's own profile and password, as the account portal and account API change them.

Editable profile fields are the standard name claims plus every attribute of the tenant's schema (settings
``attributes.schema``, the same validation as at registration). Changing the password needs the current one
(checked with the sign-in throttles, so the form cannot be used to guess it) and signs every other device out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core import clock
from chalicelib.core.attributes import AttributeSpec, check_attributes, parse_schema
from chalicelib.core.entities import User
from chalicelib.core.errors import InvalidCredentials, InvalidInput
from chalicelib.core.ids import TenantId
from chalicelib.core.ports import AccountDataRepository, CredentialRepository
from chalicelib.core.settings import EffectiveSettings
from chalicelib.services.authentication import PasswordAuthenticator
from chalicelib.services.password_policy import check_new_password
from chalicelib.services.passwords import hash_password

STANDARD_FIELDS = (
    AttributeSpec("name", "string", label=""),
    AttributeSpec("given_name", "string", label=""),
    AttributeSpec("family_name", "string", label=""),
    AttributeSpec("nickname", "string", label=""),
)


def editable_fields(settings: EffectiveSettings) -> tuple[AttributeSpec, ...]:
    """The standard name claims, then the tenant's schema (a schema entry of the same name replaces the default)."""
    schema = parse_schema(settings.get("attributes", "schema"))
    names = {spec.name for spec in schema}
    return (*(spec for spec in STANDARD_FIELDS if spec.name not in names), *schema)


def profile_view(user: User, settings: EffectiveSettings) -> dict[str, Any]:
    fields = editable_fields(settings)
    return {
        "sub": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "phone_number": user.phone_number,
        "phone_number_verified": user.phone_number_verified,
        "attributes": {spec.name: user.profile.get(spec.name) for spec in fields},
        "schema": [
            {"name": s.name, "type": s.type, "required": s.required, "format": s.format, "label": s.label}
            for s in fields
        ],
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "deletion_scheduled_at": user.deletion_scheduled_at or None,
    }


class AccountProfileService:
    def __init__(
        self,
        data: AccountDataRepository,
        credentials: CredentialRepository,
        authenticator: PasswordAuthenticator,
    ) -> None:
        self._data = data
        self._credentials = credentials
        self._authenticator = authenticator

    def update_profile(
        self, user: User, submitted: Mapping[str, object], *, settings: EffectiveSettings, partial: bool
    ) -> dict[str, Any]:
        """Validate and store the editable fields; ``partial`` keeps fields that were not submitted (JSON PATCH;
        ``null`` clears one). Raises InvalidInput with one code per wrong field. Returns the new profile."""
        fields = editable_fields(settings)
        names = {spec.name for spec in fields}
        unknown = sorted(set(submitted) - names)
        if unknown:
            raise InvalidInput(
                f"Unknown attribute(s): {', '.join(unknown)[:200]}.", fields=dict.fromkeys(unknown[:20], "unknown")
            )
        merged: dict[str, object] = {n: user.profile.get(n) for n in names} if partial else {}
        merged.update(submitted)
        values, errors = check_attributes(fields, {k: v for k, v in merged.items() if v is not None})
        if errors:
            raise InvalidInput("Some fields are not valid.", fields=errors)
        profile = {k: v for k, v in user.profile.items() if k not in names}
        profile.update(values)
        self._data.update_profile(user.tenant_id, user.user_id, profile, now=clock.now())
        return profile

    def forget_devices(self, user: User) -> None:
        """Every "remember this device" cookie issued so far stops skipping the second factor."""
        self._data.forget_devices(user.tenant_id, user.user_id, now=clock.now())

    def change_password(
        self,
        tenant_id: TenantId,
        user: User,
        *,
        current: str,
        new: str,
        ip: str,
        settings: EffectiveSettings,
    ) -> None:
        """Raises InvalidInput (``current_password: invalid`` or the new password's policy code) or RateLimited."""
        if not isinstance(current, str) or not current or len(current) > 1024:
            raise InvalidInput("Enter your current password.", fields={"current_password": "required"})
        try:
            self._authenticator.authenticate(tenant_id, user.email, current, ip=ip, settings=settings)
        except InvalidCredentials as error:
            raise InvalidInput(
                "The current password is not correct.", fields={"current_password": "invalid"}
            ) from error
        inputs = [str(v) for v in user.profile.values() if isinstance(v, str)]
        try:
            checked = check_new_password(new, settings.section("password_policy"), email=user.email, user_inputs=inputs)
        except InvalidInput as error:
            raise InvalidInput(
                error.public, fields={"new_password": next(iter(error.fields.values()), "invalid")}
            ) from error
        if checked == current:
            raise InvalidInput("Choose a password you have not used here.", fields={"new_password": "unchanged"})
        self._credentials.set_password_hash(tenant_id, user.email, hash_password(checked))
