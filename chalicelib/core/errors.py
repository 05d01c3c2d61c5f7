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
    """Credentials did not verify. Never says which part was wrong. ``user_id`` (never shown) names the account
    when the address has one, for its sign-in activity log."""

    public = "The email or password is incorrect."
    user_id: str | None = None


class AccountDisabled(DomainError):
    """The account exists but may not sign in."""

    public = "This account cannot sign in."
    user_id: str | None = None


class AccountNotVerified(DomainError):
    """The account's email address is not verified yet."""

    public = "Please verify your email address before signing in."
    user_id: str | None = None


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` is in seconds."""

    public = "Too many attempts. Please wait and try again."

    def __init__(self, public: str | None = None, *, retry_after: int = 1, detail: str = "") -> None:
        super().__init__(public, detail=detail)
        self.retry_after = max(1, int(retry_after))


class CodeInvalid(DomainError):
    """A one-time code, link or token is unknown, expired, already used or bound to something else.

    ``reused_grant_id`` names the grant whose code was presented a second time; ``reuse_detected`` says a rotated
    refresh token came back (the grant has been revoked).
    """

    public = "The code is invalid or has expired."

    def __init__(
        self,
        public: str | None = None,
        *,
        detail: str = "",
        reused_grant_id: str | None = None,
        reuse_detected: bool = False,
    ) -> None:
        super().__init__(public, detail=detail)
        self.reused_grant_id = reused_grant_id
        self.reuse_detected = reuse_detected


class Forbidden(DomainError):
    """The caller is authenticated but not allowed to do this."""

    public = "You are not allowed to do this."


class TenantUnavailable(DomainError):
    """The tenant does not exist or is disabled (reported as not found)."""

    public = "Unknown tenant."


class DependencyUnavailable(DomainError):
    """An AWS dependency failed; the operation left nothing half-written and may be retried."""

    public = "The service is temporarily unavailable. Please try again."


class TokenInvalid(DomainError):
    """A bearer token failed verification (signature, claims, type, revocation)."""

    public = "The access token is invalid."


class ScopeNotAllowed(DomainError):
    """The requested scope exceeds what the client or grant allows."""

    public = "The requested scope is not allowed."


class HumanVerificationFailed(InvalidInput):
    """The CAPTCHA token is missing or did not verify."""

    public = "Please confirm that you are not a robot."

    def __init__(self, public: str | None = None, *, detail: str = "") -> None:
        super().__init__(public, fields={"captcha_token": "invalid"}, detail=detail)


class RegistrationClosed(Forbidden):
    """The tenant does not allow self-service registration."""

    public = "Registration is not available for this service."


class RiskRefused(CodeInvalid):
    """The tier's risk policy refused a token refresh (the grant has been revoked): the user must sign in again."""

    public = "This session was ended by the security policy. Please sign in again."


class MfaRequired(DomainError):
    """The sign-in needs a second factor before it can finish."""

    public = "A second authentication step is required."


class ReauthenticationRequired(Forbidden):
    """The change needs the user to confirm their password (or a second factor) again."""

    public = "Please confirm it is you to make this change."


class ChallengeClosed(CodeInvalid):
    """The second-factor step is used up, locked after too many wrong codes, or expired: start again."""

    public = "Too many wrong codes or too slow. Please start again."
