"""psql against a PostgreSQL server named by an SQLAlchemy URL (`postgresql+asyncpg://...`)."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
"""The server the tests and the benchmark use unless TEMPLATE_TEST_POSTGRES_URL says another."""

POSTGRES_URL = os.environ.get("TEMPLATE_TEST_POSTGRES_URL", DEFAULT_URL)
"""A PostgreSQL server where the tests and the benchmark may create and drop databases."""


def postgres_params(url: str) -> dict[str, str]:
    """host, port, user and password of `url`, with psql's defaults for what it leaves out."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
    }


def psql_command(url: str, sql: str, database: str) -> tuple[list[str], dict[str, str | None]]:
    """The psql arguments that run one statement on `database` of `url`'s server, quietly
    and unaligned, stopping at the first error; and the environment they need."""
    params = postgres_params(url)
    args = [
        shutil.which("psql") or "psql",
        *("-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA"),
        *("-h", params["host"], "-p", params["port"], "-U", params["user"]),
        *("-d", database, "-c", sql),
    ]
    return args, {"PGPASSWORD": params["password"] or None, "PGCONNECT_TIMEOUT": "5"}
