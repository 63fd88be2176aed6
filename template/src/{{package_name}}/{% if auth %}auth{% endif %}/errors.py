"""The errors of authentication and authorization, as the API reports them."""

from typing import ClassVar

from ..core.database import CommitBeforeRaising
from ..core.errors import AppError


class UnauthorizedError(AppError):
    """401: the request did not prove who sent it. Says so in `WWW-Authenticate`."""

    status_code = 401
    code = "unauthorized"
    title = "Authentication required"
    www_authenticate: ClassVar[str] = "Bearer"

    def __init__(self, detail: str | None = None) -> None:
        """Say what went wrong in `detail`; the header names the scheme to use."""
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": self.www_authenticate}


class NotAuthenticatedError(UnauthorizedError):
    """401: the request carries no access token."""

    code = "not_authenticated"
    title = "Not authenticated"

    def __init__(self) -> None:
        """Say that a bearer token is needed."""
        super().__init__("This operation needs a bearer access token")


class InvalidTokenError(UnauthorizedError):
    """401: the access token is malformed, expired, or revoked."""

    code = "invalid_token"
    title = "Invalid access token"
    www_authenticate = 'Bearer error="invalid_token"'

    def __init__(self) -> None:
        """Say so, without telling which check failed."""
        super().__init__("The access token is invalid or expired")


class InvalidCredentialsError(UnauthorizedError):
    """401: no account has this email and password."""

    code = "invalid_credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        """Say so, without telling whether the email exists."""
        super().__init__("Incorrect email or password")


class InvalidRefreshTokenError(UnauthorizedError):
    """401: the refresh token is unknown, expired or revoked."""

    code = "invalid_refresh_token"
    title = "Invalid refresh token"

    def __init__(self, detail: str = "The refresh token is invalid, expired or revoked") -> None:
        """Say what is wrong with the token in `detail`."""
        super().__init__(detail)


class RefreshTokenReusedError(CommitBeforeRaising, InvalidRefreshTokenError):
    """401: a refresh token was presented again after it was exchanged.

    It may have been stolen, so its whole family (every token issued from the same login)
    is revoked. The revocation is committed with the error (see `CommitBeforeRaising`).
    """

    code = "refresh_token_reused"
    title = "Refresh token reused"

    def __init__(self) -> None:
        """Say that the user must log in again."""
        super().__init__("The refresh token was already used: log in again")


class ForbiddenError(AppError):
    """403: who sent the request is known, and may not do this."""

    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class InactiveUserError(ForbiddenError):
    """403: the account is deactivated."""

    code = "inactive_user"
    title = "Inactive user"

    def __init__(self) -> None:
        """Say so."""
        super().__init__("This account is deactivated")


class InvalidCurrentPasswordError(ForbiddenError):
    """403: the password given to confirm a change of email or password is not the account's."""

    code = "invalid_current_password"
    title = "Invalid current password"

    def __init__(self) -> None:
        """Name the field that is wrong."""
        super().__init__("current_password is not this account's password")


class SuperuserRequiredError(ForbiddenError):
    """403: the operation is for superusers, and the user is not one."""

    code = "superuser_required"
    title = "Superuser required"

    def __init__(self) -> None:
        """Say so."""
        super().__init__("This operation is for superusers only")


class TooManyLoginAttemptsError(AppError):
    """429: too many login attempts for this account or address; `Retry-After` says when."""

    status_code = 429
    code = "too_many_login_attempts"
    title = "Too many login attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        """Say, in the detail and in `Retry-After`, how many seconds to wait."""
        super().__init__(f"Too many login attempts: retry in {retry_after_seconds} s")
        self.headers = {"Retry-After": str(retry_after_seconds)}
