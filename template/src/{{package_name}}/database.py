"""Async SQLAlchemy engine, declarative base and the request-scoped session."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry

from .settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model; constraint names follow `NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database. SQLite keeps no zone, so
    values read back are marked UTC; naive values are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value!r}: use an aware datetime (UTC)"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for `settings.database_url`; the caller disposes it."""
    url = settings.database_url.get_secret_value()
    # pool_pre_ping: a connection that died while idle (database restart, failover) is
    # replaced before use, so the service recovers without a restart. SQL echo goes
    # through logging (see `logs`), not through `echo=True`'s own handler.
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        statement_timeout_ms = round(settings.database_statement_timeout_seconds * 1000)
        options |= {
            "pool_size": settings.database_pool_size,
            "pool_timeout": settings.database_connect_timeout_seconds,
            "connect_args": {
                "timeout": settings.database_connect_timeout_seconds,
                "server_settings": {"statement_timeout": str(statement_timeout_ms)},
                # Client-side backstop for a server that stops answering mid-query.
                "command_timeout": settings.database_statement_timeout_seconds + 1,
            },
        }
    else:
        options["connect_args"] = {"timeout": settings.database_statement_timeout_seconds}
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _use_sqlite_transactions(engine)
    return engine


def _use_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 driver, emit BEGIN, so SAVEPOINTs and
    transactional DDL work; and enforce foreign keys, which SQLite leaves off."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def create_sessionmaker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind, expire_on_commit=False)


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's session factory, made by the lifespan; tests override this.

    Dependencies that do no I/O are still `async def`: FastAPI runs a plain `def`
    dependency in a worker thread, a hop that costs more than the call itself."""
    return cast(async_sessionmaker[AsyncSession], request.app.state.sessionmaker)


async def get_session(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session per request, owning its transaction: commit when the handler
    returns, roll back when it raises. Services only `flush()`."""
    async with sessionmaker() as session:
        try:
            yield session
        except Exception:
            await session.rollback()
            raise
        await session.commit()


# scope="function": commit before the response is sent, so a failed commit is an
# error response and a success response means the data is stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
