from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from ..dependencies import SessionDep
from ..problems import problem_responses
from . import service
from .schemas import ItemCreate, ItemPage, ItemRead, ItemUpdate

MAX_PAGE_SIZE = 100
# Ids and offsets fit the database's 32-bit integer column; larger ones are refused (422)
# instead of failing in the driver.
MAX_INT32 = 2**31 - 1

ItemId = Annotated[int, Path(ge=1, le=MAX_INT32)]

router = APIRouter(prefix="/items", tags=["items"], responses=problem_responses(422, 503))


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 413))
async def create_item(data: ItemCreate, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.create_item(session, data))


@router.get("")
async def list_items(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT32)] = 0,
) -> ItemPage:
    items, total = await service.list_items(session, limit=limit, offset=offset)
    return ItemPage(
        items=[ItemRead.model_validate(item) for item in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{item_id}", responses=problem_responses(404))
async def get_item(item_id: ItemId, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.get_item(session, item_id))


@router.patch("/{item_id}", responses=problem_responses(404, 409, 413))
async def update_item(item_id: ItemId, data: ItemUpdate, session: SessionDep) -> ItemRead:
    return ItemRead.model_validate(await service.update_item(session, item_id, data))


@router.delete(
    "/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def delete_item(item_id: ItemId, session: SessionDep) -> None:
    await service.delete_item(session, item_id)
