"""Who is calling.

`CurrentUserDep`, `SuperuserDep` and `OwnerScopeDep` (whose rows they may see), the client's
address, and the auth machinery the app builds (`PasswordHasherDep`, `LoginRateLimiterDep`).
"""

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from ..core.dependencies import SessionDep, SettingsDep
from ..users.models import User
from ..users.passwords import PasswordHasher
from . import service
from .errors import NotAuthenticatedError, SuperuserRequiredError
from .rate_limit import LoginRateLimiter

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token is rendered as our own problem details (401).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def get_password_hasher(request: Request) -> PasswordHasher:
    """The app's password hasher; tests override this."""
    return cast(PasswordHasher, request.app.state.password_hasher)


async def get_login_rate_limiter(request: Request) -> LoginRateLimiter:
    """The app's limiter, made by the lifespan; tests override this."""
    return cast(LoginRateLimiter, request.app.state.login_rate_limiter)


def client_address(request: Request) -> str:
    """The client's address as the server resolved it.

    Never read `X-Forwarded-For` here: uvicorn applies it, only from the proxies in
    `FORWARDED_ALLOW_IPS`.
    """
    return request.client.host if request.client else "unknown"


PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
LoginRateLimiterDep = Annotated[LoginRateLimiter, Depends(get_login_rate_limiter)]


async def get_current_user(
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: SessionDep,
    settings: SettingsDep,
) -> User:
    """The active user of the bearer access token.

    401 without a valid one, 403 if the account is deactivated.
    """
    if token is None:
        raise NotAuthenticatedError
    return await service.user_for_access_token(session, settings, token)


CurrentUserDep = Annotated[User, Depends(get_current_user)]


async def get_owner_scope(user: CurrentUserDep) -> int | None:
    """Whose resources the caller may see and change.

    Their own (their id), or everyone's (`None`, for a superuser).
    """
    return None if user.is_superuser else user.id


OwnerScopeDep = Annotated[int | None, Depends(get_owner_scope)]


async def get_superuser(user: CurrentUserDep) -> User:
    """The caller, if a superuser: 403 otherwise."""
    if not user.is_superuser:
        raise SuperuserRequiredError
    return user


SuperuserDep = Annotated[User, Depends(get_superuser)]
