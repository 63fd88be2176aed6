"""The raw floor: the generated service's item endpoints with the least work per request.

The benchmark harness (bench/run.py) serves this next to the generated app, on the same
database, with the same server (uvicorn, uvloop, httptools, the same worker count) and the
generated project's libraries, plus orjson (`uv run --with orjson` in the project: the
project's environment is not changed). Per request it runs the fewest statements that give
the app's answer: one per read (the page and its total together, as the app's
`core.pagination.fetch_page` does), one INSERT ... RETURNING per create, and, with auth on,
one more to look the caller up. None of the template's layers: no ORM, no pydantic models,
no dependency injection, no middleware, no logging per request, no transaction around reads.

    FLOOR_DSN=postgresql://postgres@127.0.0.1:5432/db [FLOOR_AUTH=1 AUTH_SECRET_KEY=...] \\
        uv run --with orjson python -m uvicorn floor_app:app --app-dir bench --workers 2

Endpoints (same paths, parameters and JSON content as the template's):
    GET  /health/ready                   {"status": "ok"} after SELECT 1
    GET  /api/v1/items?limit&offset&after&total
                                         {"items": [...], "total": N|null, "limit": L,
                                          "offset": O, "next_after": id|null}
    GET  /api/v1/items/{id}              the item, or 404
    POST /api/v1/items                   INSERT ... RETURNING: 201 and the item, 409 on a taken name

With FLOOR_AUTH=1 every item endpoint wants `Authorization: Bearer <access token>`, checked as
the app's `auth.tokens.decode_access_token` and `auth.service.user_for_access_token` do (HS256
with AUTH_SECRET_KEY, the same required claims, the user active and their security stamp the
token's), and sees only the caller's items unless the caller is a superuser.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

AUTH = os.environ.get("FLOOR_AUTH", "") == "1"
if AUTH:
    import jwt  # PyJWT, in the projects with auth only
MAX_INT32 = 2**31 - 1
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 10_000

COLUMNS = "id, name, description, created_at, updated_at"
USER_SQL = "SELECT is_active, is_superuser, security_stamp FROM users WHERE id = $1"
# The columns' server defaults (now(), the same for both) set the timestamps.
INSERT_SQL = (
    f"INSERT INTO items (name, description{', owner_id' if AUTH else ''}) "
    f"VALUES ($1, $2{', $3' if AUTH else ''}) RETURNING {COLUMNS}"
)

# The template's engine by default: DATABASE_POOL_SIZE=10 connections, no overflow.
POOL_SIZE = int(os.environ.get("FLOOR_POOL_SIZE", "10"))

# The app's auth.tokens: HS256, these claims required, type "access".
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "stamp"]
DEV_AUTH_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105
SECRET = os.environ.get("AUTH_SECRET_KEY", DEV_AUTH_SECRET_KEY)

_TRUE = {"1", "true", "t", "yes", "y", "on"}  # what pydantic reads as a bool
_FALSE = {"0", "false", "f", "no", "n", "off"}


class Problem(Exception):  # noqa: N818 - it is the response, not only an error
    """An RFC 9457 problem document, as the app's `core.problems` renders it (no request id)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers

    def response(self, path: str) -> Response:
        body = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": path,
            "code": self.code,
        }
        return Response(
            orjson.dumps(body),
            status_code=self.status,
            media_type="application/problem+json",
            headers=self.headers,
        )


def _json(content: Any, status: int = 200) -> Response:
    # OPT_UTC_Z: an aware UTC datetime as ...Z, as pydantic renders it.
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status,
        media_type="application/json",
    )


def _invalid(detail: str) -> Problem:
    return Problem(422, "validation_error", "Request validation failed", detail)


def _int(raw: str | None, default: int | None, low: int, high: int, name: str) -> int | None:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(f"{name} is not an integer") from None
    if not low <= value <= high:
        raise _invalid(f"{name} out of range")
    return value


def _invalid_token() -> Problem:
    return Problem(
        401,
        "invalid_token",
        "Invalid access token",
        "The access token is invalid or expired",
        {"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _user_id(subject: object) -> int | None:
    """The app's auth.tokens._user_id: a canonical decimal id within the int32 range."""
    if not isinstance(subject, str) or not 0 < len(subject) <= len(str(MAX_INT32)):
        return None
    if not (subject.isascii() and subject.isdigit()) or subject.startswith("0"):
        return None
    user_id = int(subject)
    return user_id if user_id <= MAX_INT32 else None


async def _caller(request: Request, connection: asyncpg.Connection) -> tuple[int, bool]:
    """(user id, is superuser) of the bearer token's active user; a 401/403 Problem otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        raise Problem(
            401,
            "not_authenticated",
            "Not authenticated",
            "This operation needs a bearer access token",
            {"WWW-Authenticate": "Bearer"},
        )
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.InvalidTokenError:
        raise _invalid_token() from None
    user_id, stamp = _user_id(claims["sub"]), claims["stamp"]
    if claims["type"] != "access" or user_id is None or not isinstance(stamp, str):
        raise _invalid_token()
    user = await connection.fetchrow(USER_SQL, user_id)
    if user is None or user["security_stamp"] != stamp:
        raise _invalid_token()
    if not user["is_active"]:
        raise Problem(403, "inactive_user", "Inactive user", "This account is deactivated")
    return user_id, user["is_superuser"]


async def _owner(request: Request, connection: asyncpg.Connection) -> int | None:
    """Whose items the caller may see: None for everyone's (auth off, or a superuser)."""
    if not AUTH:
        return None
    user_id, superuser = await _caller(request, connection)
    return None if superuser else user_id


@functools.cache
def _list_sql(scoped: bool, keyset: bool, total: bool) -> tuple[str, str]:
    """(page, count): the page of limit + 1 rows, with the scope's total when `total`, in one
    statement ($1 limit + 1, $2 offset, $3 owner if scoped, then `after` if keyset); and the
    count alone, for a page past the end."""
    scope = ["owner_id = $3"] if scoped else []
    where = [*scope, f"id > ${4 if scoped else 3}"] if keyset else scope
    count = "SELECT count(*) FROM items" + (f" WHERE {scope[0]}" if scope else "")
    columns = COLUMNS + (f", ({count}) AS total" if total else "")
    page = (
        f"SELECT {columns} FROM items"  # noqa: S608 - no user input in the text
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY id LIMIT $1 OFFSET $2"
    )
    return page, count.replace("$3", "$1")


async def ready(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    await pool.fetchval("SELECT 1")
    return _json({"status": "ok"})


async def list_items(request: Request) -> Response:
    params = request.query_params
    try:
        limit = _int(params.get("limit"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, "limit")
        offset = _int(params.get("offset"), 0, 0, MAX_INT32, "offset")
        after = _int(params.get("after"), None, 0, MAX_INT32, "after")
        total_raw = params.get("total", "true").lower()
        if total_raw not in _TRUE | _FALSE:
            raise _invalid("total is not a boolean")
        want_total = total_raw in _TRUE
        assert limit is not None and offset is not None  # noqa: S101 - defaults given
        pool: asyncpg.Pool = request.app.state.pool
        async with pool.acquire() as connection:
            owner = await _owner(request, connection)
            page_sql, count_sql = _list_sql(owner is not None, after is not None, want_total)
            args = [limit + 1, offset, *([owner] if owner is not None else [])]
            rows = await connection.fetch(page_sql, *args, *([after] if after is not None else []))
            total = None
            if want_total:
                if rows:
                    total = rows[0]["total"]
                elif offset or after is not None:
                    total = await connection.fetchval(count_sql, *args[2:])
                else:
                    total = 0
    except Problem as problem:
        return problem.response(request.url.path)
    page = rows[:limit]
    return _json(
        {
            "items": [
                {
                    "id": row["id"],
                    "name": row["name"],
                    "description": row["description"],
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                }
                for row in page
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_after": page[-1]["id"] if len(rows) > limit else None,
        }
    )


async def get_item(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    try:
        async with pool.acquire() as connection:
            owner = await _owner(request, connection)
            item_id = _int(request.path_params["item_id"], None, 1, MAX_INT32, "item_id")
            if owner is None:
                row = await connection.fetchrow(
                    f"SELECT {COLUMNS} FROM items WHERE id = $1",  # noqa: S608
                    item_id,
                )
            else:
                row = await connection.fetchrow(
                    f"SELECT {COLUMNS} FROM items WHERE id = $1 AND owner_id = $2",  # noqa: S608
                    item_id,
                    owner,
                )
        if row is None:
            raise Problem(404, "item_not_found", "Item not found", f"No item with id {item_id}")
    except Problem as problem:
        return problem.response(request.url.path)
    return _json(dict(row))


def _item_create(body: bytes) -> tuple[str, str | None]:
    """(name, description) as the app's ItemCreate accepts them; a 422 Problem otherwise."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid("the body is not JSON") from None
    if not isinstance(data, dict) or not set(data) <= {"name", "description"}:
        raise _invalid("expected {name, description?}")
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise _invalid("invalid name")
    if "\x00" in name or not name.strip("\t\n\r "):
        raise _invalid("invalid name")
    if description is not None and (
        not isinstance(description, str)
        or len(description) > DESCRIPTION_MAX_LENGTH
        or "\x00" in description
    ):
        raise _invalid("invalid description")
    return name, description


async def create_item(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    try:
        async with pool.acquire() as connection:
            if AUTH:
                owner, _ = await _caller(request, connection)
            name, description = _item_create(await request.body())
            args = [name, description, *([owner] if AUTH else [])]
            try:
                row = await connection.fetchrow(INSERT_SQL, *args)
            except asyncpg.UniqueViolationError:
                raise Problem(
                    409,
                    "item_name_taken",
                    "Item name already taken",
                    f"An item named {name!r} already exists",
                ) from None
            except asyncpg.ForeignKeyViolationError:
                raise _invalid_token() from None  # the owner was deleted meanwhile
    except Problem as problem:
        return problem.response(request.url.path)
    return _json(dict(row), 201)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["FLOOR_DSN"], min_size=POOL_SIZE, max_size=POOL_SIZE
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
