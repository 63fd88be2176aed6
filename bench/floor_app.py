"""The raw floor: the generated service's item endpoints in plain Starlette + asyncpg.

The benchmark harness (bench/run.py) serves this next to the generated app, on the same
database, with the same server (uvicorn, uvloop, httptools, the same worker count) and
from the generated project's virtual environment, so the same library versions. It runs
the same SQL and returns the same JSON shape, with none of the template's layers: no ORM,
no pydantic models, no dependency injection, no middleware, no logging per request.
Whatever the template spends beyond this floor is the cost of those layers.

    FLOOR_DSN=postgresql://postgres@127.0.0.1:5432/db \\
        uvicorn floor_app:app --app-dir bench --workers 2 --no-access-log

Endpoints (same paths and shapes as the template's):
    GET  /health/ready               {"status": "ok"} after SELECT 1
    GET  /api/v1/items?limit&offset  {"items": [...], "total": N, "limit": L, "offset": O}
    GET  /api/v1/items/{id}          the item, or 404
    POST /api/v1/items               INSERT ... RETURNING: 201 and the item, 409 on a taken name
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

COLUMNS = "id, name, description, created_at, updated_at"
LIST_SQL = f"SELECT {COLUMNS} FROM items ORDER BY id LIMIT $1 OFFSET $2"  # noqa: S608
COUNT_SQL = "SELECT count(*) FROM items"
GET_SQL = f"SELECT {COLUMNS} FROM items WHERE id = $1"  # noqa: S608
INSERT_SQL = (
    "INSERT INTO items (name, description, created_at, updated_at) "
    f"VALUES ($1, $2, $3, $3) RETURNING {COLUMNS}"
)

# The template's engine: pool_size 5 plus SQLAlchemy's default max_overflow of 10.
POOL_MIN = int(os.environ.get("FLOOR_POOL_MIN", "5"))
POOL_MAX = int(os.environ.get("FLOOR_POOL_MAX", "15"))


def _timestamp(value: datetime) -> str:
    # pydantic renders an aware UTC datetime as ...Z; do the same.
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _item(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
    }


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def ready(request: Request) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    await pool.fetchval("SELECT 1")
    return JSONResponse({"status": "ok"})


async def list_items(request: Request) -> JSONResponse:
    limit = _int_param(request, "limit", 20, 1, 100)
    offset = _int_param(request, "offset", 0, 0, 2**62)
    if limit is None or offset is None:
        return _problem(422, "Request validation failed", "invalid limit or offset")
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as connection:
        rows = await connection.fetch(LIST_SQL, limit, offset)
        total = await connection.fetchval(COUNT_SQL)
    return JSONResponse(
        {"items": [_item(row) for row in rows], "total": total, "limit": limit, "offset": offset}
    )


async def get_item(request: Request) -> JSONResponse:
    try:
        item_id = int(request.path_params["item_id"])
    except ValueError:
        return _problem(422, "Request validation failed", "item_id is not an integer")
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(GET_SQL, item_id)
    if row is None:
        return _problem(404, "Item not found", f"No item with id {item_id}")
    return JSONResponse(_item(row))


async def create_item(request: Request) -> JSONResponse:
    try:
        data = json.loads(await request.body())
        name = data["name"].strip()
        description = data.get("description")
    except (ValueError, KeyError, TypeError, AttributeError):
        return _problem(422, "Request validation failed", "expected {name, description?}")
    if not name or len(name) > 200 or not (description is None or isinstance(description, str)):
        return _problem(422, "Request validation failed", "invalid name or description")
    pool: asyncpg.Pool = request.app.state.pool
    try:
        row = await pool.fetchrow(INSERT_SQL, name, description, datetime.now(UTC))
    except asyncpg.UniqueViolationError:
        return _problem(409, "Item name already taken", f"An item named {name!r} already exists")
    return JSONResponse(_item(row), status_code=201)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["FLOOR_DSN"], min_size=POOL_MIN, max_size=POOL_MAX
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/health/ready", ready),
        Route("/api/v1/items", list_items, methods=["GET"]),
        Route("/api/v1/items", create_item, methods=["POST"]),
        Route("/api/v1/items/{item_id}", get_item, methods=["GET"]),
    ],
    lifespan=lifespan,
)
