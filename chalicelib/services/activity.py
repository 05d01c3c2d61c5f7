"""Sign-in activity: the events every sign-in attempt records, and how devices and places are described.

A sign-in is an audit event about the user (``signin.success`` or ``signin.failure`` with a ``reason``), with the
client, source IP, user agent, time, the browser's device id (digest of the ``gh_device`` cookie), whether this
user had signed in on that device before, and the approximate place CloudFront reports. The shape is the same for
every way in (password today; MFA, federation and passkeys later), so a risk engine can read one stream.

Whether a device is new is decided without a database read: the device cookie carries a short mark per user that
signed in on it (``<device id>.<mark>.<mark>...``, at most MAX_MARKS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.core.digests import secret_digest
from chalicelib.core.entities import AuditEvent, User
from chalicelib.core.ids import ROOT_NODE, TenantId, new_id
from chalicelib.services.audit import AuditService

SIGNIN_SUCCESS = "signin.success"
SIGNIN_FAILURE = "signin.failure"
ACTIVITY_DAYS = 90
MAX_MARKS = 5
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MARK = re.compile(r"^[0-9a-f]{12}$")
PLACE = re.compile(r"^[\w .,'()/-]{1,64}$", re.UNICODE)
LOCATION_HEADERS = (
    "cloudfront-viewer-city",
    "cloudfront-viewer-country-region-name",
    "cloudfront-viewer-country-name",
)


@dataclass(frozen=True)
class Device:
    """The browser's device cookie: its id and the marks of the users who signed in on it."""

    device_id: str
    marks: tuple[str, ...]

    @classmethod
    def from_cookie(cls, value: str | None) -> Device:
        parts = (value or "").split(".")
        if not parts or not DEVICE_ID.match(parts[0]):
            return cls(new_id(16), ())
        return cls(parts[0], tuple(m for m in parts[1 : MAX_MARKS + 1] if MARK.match(m)))

    def mark_for(self, tenant_id: TenantId, user_id: str) -> str:
        return secret_digest(f"{tenant_id}:{user_id}:{self.device_id}")[:12]

    def knows(self, tenant_id: TenantId, user_id: str) -> bool:
        return self.mark_for(tenant_id, user_id) in self.marks

    def with_user(self, tenant_id: TenantId, user_id: str) -> Device:
        mark = self.mark_for(tenant_id, user_id)
        return Device(self.device_id, (mark, *[m for m in self.marks if m != mark])[:MAX_MARKS])

    @property
    def digest(self) -> str:
        return secret_digest(self.device_id)[:16]

    def cookie_value(self) -> str:
        return ".".join((self.device_id, *self.marks))


def viewer_location(headers: Mapping[str, str]) -> str:
    """ "City, Region, Country" from CloudFront's viewer headers (lower-case names), or "" without them."""
    parts = []
    for name in LOCATION_HEADERS:
        value = (headers.get(name) or "").strip()
        if value and PLACE.match(value) and value not in parts:
            parts.append(value)
    country = (headers.get("cloudfront-viewer-country") or "").strip()
    if not parts and re.fullmatch(r"[A-Z]{2}", country):
        parts.append(country)
    return ", ".join(parts)


@dataclass(frozen=True)
class SignInContext:
    """Where a sign-in attempt came from."""

    client_id: str
    ip: str
    user_agent: str
    location: str
    device: Device


class SignInActivity:
    def __init__(self, audit: AuditService) -> None:
        self._audit = audit

    def success_event(
        self, tenant_id: TenantId, user: User, context: SignInContext, *, amr: tuple[str, ...], method: str
    ) -> AuditEvent:
        """The ``signin.success`` event, to be written with the new session (same transaction)."""
        return self._audit.user_event(
            tenant_id,
            user.user_id,
            SIGNIN_SUCCESS,
            node_id=user.tier_node_id,
            source_ip=context.ip,
            user_agent=context.user_agent,
            details={
                "client_id": context.client_id,
                "method": method,
                "amr": " ".join(amr),
                "device": context.device.digest,
                "new_device": not context.device.knows(tenant_id, user.user_id),
                "location": context.location,
            },
        )

    def record_failure(
        self, tenant_id: TenantId, *, user_id: str | None, email: str, reason: str, context: SignInContext
    ) -> None:
        """A failed attempt; for an address without an account only a digest of the address is kept."""
        self._audit.append(
            self._audit.user_event(
                tenant_id,
                user_id or "",
                SIGNIN_FAILURE,
                node_id=ROOT_NODE,
                source_ip=context.ip,
                user_agent=context.user_agent,
                outcome="failure",
                target_id=user_id or f"email:{secret_digest(email.strip().lower())[:40]}",
                details={
                    "client_id": context.client_id,
                    "reason": reason,
                    "device": context.device.digest,
                    "location": context.location,
                },
            )
        )

    def record(self, event: AuditEvent) -> None:
        self._audit.append(event)

    def list(self, tenant_id: TenantId, user_id: str, *, days: int = ACTIVITY_DAYS) -> list[AuditEvent]:
        return self._audit.list_for_user(tenant_id, user_id, days=days)
