"""User use cases.

Takes a session and typed arguments, raises domain errors; knows nothing of HTTP. Only
flushes: the caller owns the transaction.
"""

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth import service as auth_service
from ..auth.errors import InvalidCurrentPasswordError
from ..core.pagination import PageRequest, Slice
from . import repository
from .errors import EmailTakenError, UserNotFoundError
from .models import User
from .passwords import PasswordHasher
from .schemas import UserCreate, UserUpdate, UserUpdateMe

_SIGNS_OUT = frozenset({"email", "password", "is_active", "is_superuser"})
"""Fields whose change revokes the user's tokens.

Who they are, how they prove it, whether they may act, and what they may do.
"""


async def create_user(
    session: AsyncSession,
    hasher: PasswordHasher,
    data: UserCreate,
    *,
    is_superuser: bool = False,
) -> User:
    """Create an account, its password hashed; `EmailTakenError` if the email is taken."""
    user = User(
        email=data.email.lower(),
        hashed_password=await hasher.hash(data.password),
        is_superuser=is_superuser,
    )
    session.add(user)
    await _flush_unique_email(session)
    return user


async def get_user(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User:
    """`for_update`: read afresh and locked until the transaction ends, before a change."""
    user = await repository.get(session, user_id, for_update=for_update)
    if user is None:
        raise UserNotFoundError(user_id)
    return user


async def list_users(session: AsyncSession, request: PageRequest) -> Slice:
    """The page of users that `request` asks for, in id order."""
    return await repository.list_page(session, request)


async def update_me(
    session: AsyncSession, hasher: PasswordHasher, user: User, data: UserUpdateMe
) -> User:
    """Change one's own email or password, confirmed by the current password.

    `data.current_password` must be the account's password (`InvalidCurrentPasswordError`,
    also when it is missing). Concurrent updates apply one after the other; a user deleted
    meanwhile is `UserNotFoundError`.
    """
    changes = data.model_dump(exclude_unset=True, exclude={"current_password"})
    user = await get_user(session, user.id, for_update=True)
    if changes:
        # A missing password costs a verification too: it answers no faster.
        given = data.current_password or ""
        valid, _ = await hasher.verify_and_update(given, user.hashed_password)
        if not valid or data.current_password is None:
            raise InvalidCurrentPasswordError
    return await _apply(session, hasher, user, changes)


async def update_user(
    session: AsyncSession, hasher: PasswordHasher, user: User, data: UserUpdate
) -> User:
    """Apply the fields set in `data`, as a superuser does: no password needed.

    Concurrent updates apply one after the other; a user deleted meanwhile is
    `UserNotFoundError`.
    """
    user = await get_user(session, user.id, for_update=True)
    return await _apply(session, hasher, user, data.model_dump(exclude_unset=True))


async def update_user_by_id(
    session: AsyncSession, hasher: PasswordHasher, user_id: int, data: UserUpdate
) -> User:
    """`update_user` for the user with this id; `UserNotFoundError` if there is none."""
    return await update_user(session, hasher, await get_user(session, user_id), data)


async def _apply(
    session: AsyncSession, hasher: PasswordHasher, user: User, changes: dict[str, Any]
) -> User:
    """Apply `changes`.

    A change of what the user's tokens vouch for (any field in `_SIGNS_OUT`) signs the user
    out everywhere, in the same transaction.
    """
    signs_out = False
    for field, value in changes.items():
        if field == "password":
            user.hashed_password = await hasher.hash(value)
        elif getattr(user, field) == value:
            continue
        else:
            setattr(user, field, value)
        signs_out = signs_out or field in _SIGNS_OUT
    await _flush_unique_email(session)
    if signs_out:
        await auth_service.revoke_sessions(session, user)
    return user


async def delete_user(session: AsyncSession, user_id: int) -> None:
    """Delete the user; their items and refresh tokens go with them (ON DELETE CASCADE).

    Of concurrent deletions, one succeeds; the others find the user gone.
    """
    user = await get_user(session, user_id, for_update=True)
    await session.delete(user)
    await session.flush()


async def _flush_unique_email(session: AsyncSession) -> None:
    """Flush; the unique constraint on the email is the one check, free of races."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise EmailTakenError from exc
