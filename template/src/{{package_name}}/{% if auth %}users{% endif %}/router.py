from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from ..auth.dependencies import (
    CurrentUserDep,
    LoginRateLimiterDep,
    PasswordHasherDep,
    SuperuserDep,
    client_address,
)
from ..auth.errors import InvalidTokenError
from ..core.dependencies import SessionDep
from ..core.problems import problem_responses
from . import service
from .errors import UserNotFoundError
from .schemas import UserCreate, UserPage, UserRead, UserUpdate, UserUpdateMe

MAX_PAGE_SIZE = 100
MAX_INT32 = 2**31 - 1

# In paths as `{user_id:int}`: only digits route there, so `/users/me` is never taken for
# an id (DELETE /users/me is a 405, and `Allow` on /users/me does not list DELETE).
UserId = Annotated[int, Path(ge=1, le=MAX_INT32)]

router = APIRouter(prefix="/users", tags=["users"], responses=problem_responses(422, 503))
_AUTHENTICATED = problem_responses(401, 403)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 413))
async def register(data: UserCreate, session: SessionDep, hasher: PasswordHasherDep) -> UserRead:
    """Open registration: anyone may create an (ordinary) account."""
    return UserRead.model_validate(await service.create_user(session, hasher, data))


@router.get("/me", responses=_AUTHENTICATED)
async def read_me(user: CurrentUserDep) -> UserRead:
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
    """Change your email or password, confirmed by `current_password` (a wrong or missing
    one is a 403, and counts as a login attempt). It signs you out everywhere, this session
    included: log in again."""
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
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT32)] = 0,
) -> UserPage:
    users, total = await service.list_users(session, limit=limit, offset=offset)
    return UserPage(
        users=[UserRead.model_validate(user) for user in users],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{user_id:int}", responses=_AUTHENTICATED | problem_responses(404))
async def get_user(user_id: UserId, _: SuperuserDep, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await service.get_user(session, user_id))


@router.patch("/{user_id:int}", responses=_AUTHENTICATED | problem_responses(404, 409, 413))
async def update_user(
    user_id: UserId,
    data: UserUpdate,
    _: SuperuserDep,
    session: SessionDep,
    hasher: PasswordHasherDep,
) -> UserRead:
    return UserRead.model_validate(await service.update_user_by_id(session, hasher, user_id, data))


@router.delete(
    "/{user_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_AUTHENTICATED | problem_responses(404),
)
async def delete_user(user_id: UserId, _: SuperuserDep, session: SessionDep) -> None:
    await service.delete_user(session, user_id)
