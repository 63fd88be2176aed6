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
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": self.www_authenticate}


class NotAuthenticatedError(UnauthorizedError):
    code = "not_authenticated"
    title = "Not authenticated"

    def __init__(self) -> None:
        super().__init__("This operation needs a bearer access token")


class InvalidTokenError(UnauthorizedError):
    code = "invalid_token"
    title = "Invalid access token"
    www_authenticate = 'Bearer error="invalid_token"'

    def __init__(self) -> None:
        super().__init__("The access token is invalid or expired")


class InvalidCredentialsError(UnauthorizedError):
    code = "invalid_credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("Incorrect email or password")


class InvalidRefreshTokenError(UnauthorizedError):
    code = "invalid_refresh_token"
    title = "Invalid refresh token"

    def __init__(self, detail: str = "The refresh token is invalid, expired or revoked") -> None:
        super().__init__(detail)


class RefreshTokenReusedError(CommitBeforeRaising, InvalidRefreshTokenError):
    """A refresh token was presented again after it was exchanged: it may have been
    stolen, so its whole family (every token issued from the same login) is revoked. The
    revocation is committed with the error (see `CommitBeforeRaising`)."""

    code = "refresh_token_reused"
    title = "Refresh token reused"

    def __init__(self) -> None:
        super().__init__("The refresh token was already used: log in again")


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class InactiveUserError(ForbiddenError):
    code = "inactive_user"
    title = "Inactive user"

    def __init__(self) -> None:
        super().__init__("This account is deactivated")


class InvalidCurrentPasswordError(ForbiddenError):
    """The password given to confirm a change of email or password is not the account's."""

    code = "invalid_current_password"
    title = "Invalid current password"

    def __init__(self) -> None:
        super().__init__("current_password is not this account's password")


class SuperuserRequiredError(ForbiddenError):
    code = "superuser_required"
    title = "Superuser required"

    def __init__(self) -> None:
        super().__init__("This operation is for superusers only")


class TooManyLoginAttemptsError(AppError):
    status_code = 429
    code = "too_many_login_attempts"
    title = "Too many login attempts"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many login attempts: retry in {retry_after_seconds} s")
        self.headers = {"Retry-After": str(retry_after_seconds)}
