"""Queries for users, and nothing else: no business rules, no HTTP."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.pagination import PageRequest, Slice, fetch_page
from .models import User


async def get(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User | None:
    """The user, or `None`.

    `for_update`: read them afresh and lock their row until the transaction ends
    (`SELECT ... FOR UPDATE`, see `items.repository.get`).
    """
    if for_update:
        return await session.get(User, user_id, with_for_update=True, populate_existing=True)
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this email (in any case), or `None`."""
    return await session.scalar(select(User).where(User.email == email.lower()))


async def list_page(session: AsyncSession, request: PageRequest) -> Slice:
    """The page of users that `request` asks for, in id order, as rows."""
    users = User.__table__
    return await fetch_page(session, select(users), key=users.c.id, request=request)


async def get_locked(session: AsyncSession, user_id: int) -> User | None:
    """The user, re-read, its row share-locked until the transaction ends (PostgreSQL).

    A concurrent change that revokes the user's tokens waits for this transaction, or this
    read waits for it and sees its new security stamp.
    """
    return await session.get(User, user_id, with_for_update={"read": True}, populate_existing=True)
