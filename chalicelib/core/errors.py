"""Domain errors raised by services.

Each carries a ``public`` message that is safe to show to a user or client and a ``detail`` that only goes to the
log. Protocol adapters map these to their own wire errors in one table per protocol (``web/errors.py``).
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    public = "The request could not be completed."

    def __init__(self, public: str | None = None, *, detail: str = "") -> None:
        if public is not None:
            self.public = public
        self.detail = detail
        super().__init__(self.public if not detail else f"{self.public} ({detail})")


class InvalidInput(DomainError):
    """Input failed validation; ``fields`` maps a field name to its message."""

    public = "The request is not valid."

    def __init__(self, public: str | None = None, *, fields: dict[str, str] | None = None, detail: str = "") -> None:
        super().__init__(public, detail=detail)
        self.fields = fields or {}


class NotFound(DomainError):
    """The named thing does not exist in this tenant."""

    public = "Not found."


class AlreadyExists(DomainError):
    """A uniqueness guard refused a write."""

    public = "It already exists."


class Conflict(DomainError):
    """A conditional write lost a race or the item changed underneath us."""

    public = "The resource was changed by another request; try again."


class InvalidCredentials(DomainError):
    """Credentials did not verify. Never says which part was wrong."""

    public = "The email or password is incorrect."


class AccountDisabled(DomainError):
    """The account exists but may not sign in."""

    public = "This account cannot sign in."


class AccountNotVerified(DomainError):
    """The account's email address is not verified yet."""

    public = "Please verify your email address before signing in."


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` is in seconds."""

    public = "Too many attempts. Please wait and try again."

    def __init__(self, public: str | None = None, *, retry_after: int = 1, detail: str = "") -> None:
        super().__init__(public, detail=detail)
        self.retry_after = max(1, int(retry_after))


class CodeInvalid(DomainError):
    """A one-time code, link or token is unknown, expired, already used or bound to something else."""

    public = "The code is invalid or has expired."


class Forbidden(DomainError):
    """The caller is authenticated but not allowed to do this."""

    public = "You are not allowed to do this."


class TenantUnavailable(DomainError):
    """The tenant does not exist or is disabled (reported as not found)."""

    public = "Unknown tenant."


class DependencyUnavailable(DomainError):
    """An AWS dependency failed; the operation left nothing half-written and may be retried."""

    public = "The service is temporarily unavailable. Please try again."
