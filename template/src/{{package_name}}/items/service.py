"""Item use cases. Takes a session and typed arguments, raises domain errors; knows
nothing of HTTP. Only flushes: the caller owns the transaction."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository
from .errors import ItemNameTakenError, ItemNotFoundError
from .models import Item
from .schemas import ItemCreate, ItemUpdate


async def create_item(session: AsyncSession, data: ItemCreate) -> Item:
    item = Item(name=data.name, description=data.description)
    session.add(item)
    await _flush_unique_name(session, item.name)
    return item


async def get_item(session: AsyncSession, item_id: int) -> Item:
    item = await repository.get(session, item_id)
    if item is None:
        raise ItemNotFoundError(item_id)
    return item


async def list_items(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[Item], int]:
    """One page of items in id order, and the total number of items."""
    page = await repository.list_page(session, limit=limit, offset=offset)
    return page, await repository.count(session)


async def update_item(session: AsyncSession, item_id: int, data: ItemUpdate) -> Item:
    item = await get_item(session, item_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await _flush_unique_name(session, item.name)
    return item


async def delete_item(session: AsyncSession, item_id: int) -> None:
    item = await get_item(session, item_id)
    await session.delete(item)
    await session.flush()


async def _flush_unique_name(session: AsyncSession, name: str) -> None:
    """Flush; the unique constraint on the name is the one check, free of races.
    After the error the transaction is unusable, and the caller rolls it back."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ItemNameTakenError(name) from exc
