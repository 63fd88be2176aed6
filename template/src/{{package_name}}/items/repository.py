"""Queries for items, and nothing else: no business rules, no HTTP."""

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Item


async def get(session: AsyncSession, item_id: int) -> Item | None:
    return await session.get(Item, item_id)


async def list_page(session: AsyncSession, *, limit: int, offset: int) -> Sequence[Item]:
    query = select(Item).order_by(Item.id).limit(limit).offset(offset)
    return (await session.scalars(query)).all()


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Item)) or 0
