"""The users API: registration, one's own account, and administration by superusers."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from ..auth.dependencies import (
    CurrentUserDep,
    LoginRateLimiterDep,
    PasswordHasherDep,
    SuperuserDep,
    client_address,
)
from ..auth.errors import InvalidTokenError
from ..core.dependencies import SessionDep
from ..core.pagination import MAX_INT32, PageRequestDep
from ..core.problems import problem_responses
from . import service
from .errors import UserNotFoundError
from .schemas import UserCreate, UserPage, UserRead, UserUpdate, UserUpdateMe

# In paths as `{user_id:int}`: only digits route there, so `/users/me` is never taken for
# an id (DELETE /users/me is a 405, and `Allow` on /users/me does not list DELETE).
UserId = Annotated[int, Path(ge=1, le=MAX_INT32, description="The user's id.")]
"""A path parameter holding a user's id, with the bounds of `core.pagination.ResourceId`."""

router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(422, 503))
_AUTHENTICATED = problem_responses(401, 403)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 413))
async def register(data: UserCreate, session: SessionDep, hasher: PasswordHasherDep) -> UserRead:
    """Create an account: registration is open to anyone.

    The account is an ordinary one (not a superuser), active at once; log in with its
    email and password. The email is stored in lower case and must not be taken yet
    (409 otherwise).
    """
    return UserRead.model_validate(await service.create_user(session, hasher, data))


@router.get("/me", responses=_AUTHENTICATED)
async def read_me(user: CurrentUserDep) -> UserRead:
    """Read your own account: the one the access token was issued to."""
    return UserRead.model_validate(user)


@router.patch("/me", responses=_AUTHENTICATED | problem_responses(409, 413, 429))
async def update_me(
    data: UserUpdateMe,
    user: CurrentUserDep,
    request: Request,
    session: SessionDep,
    hasher: PasswordHasherDep,
    limiter: LoginRateLimiterDep,
) -> UserRead:
    """Change your own email or password.

    The change is confirmed by `current_password`: a wrong or missing one is a 403, and
    counts as a login attempt (too many are a 429). A change signs you out everywhere, this
    session included: log in again with the new credentials.
    """
    if data.changes_credentials:
        await limiter.hit(email=user.email, address=client_address(request))
    try:
        return UserRead.model_validate(await service.update_me(session, hasher, user, data))
    except UserNotFoundError as exc:
        # Deleted since the request authenticated: the token is no longer valid.
        raise InvalidTokenError from exc


@router.get("", responses=_AUTHENTICATED)
async def list_users(
    _: SuperuserDep,
    session: SessionDep,
    page: PageRequestDep,
) -> UserPage:
    """List every account, a page at a time, in the order they were created (superusers only).

    `limit` and `offset`, or `after` (the previous page's `next_after`), select the page;
    `total` counts every account.
    """
    found = await service.list_users(session, page)
    return UserPage.of([UserRead.model_validate(row) for row in found.rows], found, page)


@router.get("/{user_id:int}", responses=_AUTHENTICATED | problem_responses(404))
async def get_user(user_id: UserId, _: SuperuserDep, session: SessionDep) -> UserRead:
    """Read any account by its id (superusers only)."""
    return UserRead.model_validate(await service.get_user(session, user_id))


@router.patch("/{user_id:int}", responses=_AUTHENTICATED | problem_responses(404, 409, 413))
async def update_user(
    user_id: UserId,
    data: UserUpdate,
    _: SuperuserDep,
    session: SessionDep,
    hasher: PasswordHasherDep,
) -> UserRead:
    """Change any account (superusers only): only the fields present change.

    No password is needed. Changing the email, the password, `is_active` or `is_superuser`
    signs that user out everywhere; deactivating an account keeps it from logging in.
    """
    return UserRead.model_validate(await service.update_user_by_id(session, hasher, user_id, data))


@router.delete(
    "/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_AUTHENTICATED | problem_responses(404),
)
async def delete_user(user_id: UserId, _: SuperuserDep, session: SessionDep) -> None:
    """Delete any account by its id (superusers only), with its items and sessions."""
    await service.delete_user(session, user_id)
