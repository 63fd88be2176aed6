"""User use cases. Takes a session and typed arguments, raises domain errors; knows
nothing of HTTP. Only flushes: the caller owns the transaction."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository
from .errors import EmailTakenError, UserNotFoundError
from .models import User
from .passwords import PasswordHasher
from .schemas import UserCreate, UserUpdate, UserUpdateMe


async def create_user(
    session: AsyncSession,
    hasher: PasswordHasher,
    data: UserCreate,
    *,
    is_superuser: bool = False,
) -> User:
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


async def list_users(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    """One page of users in id order, and the total number of users."""
    page = await repository.list_page(session, limit=limit, offset=offset)
    return page, await repository.count(session)


async def update_user(
    session: AsyncSession, hasher: PasswordHasher, user: User, data: UserUpdateMe
) -> User:
    """Apply the fields set in `data` (`UserUpdate` also changes the flags). Concurrent
    updates apply one after the other; a user deleted meanwhile is `UserNotFoundError`."""
    user = await get_user(session, user.id, for_update=True)
    for field, value in data.model_dump(exclude_unset=True).items():
        if field == "password":
            user.hashed_password = await hasher.hash(value)
        else:
            setattr(user, field, value)
    await _flush_unique_email(session)
    return user


async def update_user_by_id(
    session: AsyncSession, hasher: PasswordHasher, user_id: int, data: UserUpdate
) -> User:
    return await update_user(session, hasher, await get_user(session, user_id), data)


async def delete_user(session: AsyncSession, user_id: int) -> None:
    """Delete the user; their items and refresh tokens go with them (ON DELETE CASCADE).
    Of concurrent deletions, one succeeds; the others find the user gone."""
    user = await get_user(session, user_id, for_update=True)
    await session.delete(user)
    await session.flush()


async def _flush_unique_email(session: AsyncSession) -> None:
    """Flush; the unique constraint on the email is the one check, free of races."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise EmailTakenError from exc
