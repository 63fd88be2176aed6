"""A generated project passes its own checks: lint, format, types, tests, migrations.

The matrix covers the options pairwise: `worker`, `cache` and `observability` are each on
and off at least once, every two of them are on together (and in each on/off mix), all
three are on and all off; each database and Python version appears, and `auth` both ways.
The nasty answers (support.NASTY_ANSWERS: quotes, escapes, shell and Markdown syntax in the
free-text answers, the longest slug and package name) are checked with every option on.
The default project, the all-on SQLite project and the nasty SQLite one are the fast
subset; the rest is marked slow.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support import NASTY_ANSWERS, POSTGRES_URL, Project, ProjectCache, psql, require_postgres

ALL_OPTIONS = {"worker": "true", "cache": "true", "observability": "true"}

MATRIX = [
    pytest.param({}, id="sqlite-py3.13"),
    pytest.param({"auth": "false", **ALL_OPTIONS}, id="sqlite-noauth-all-options-py3.13"),
    pytest.param(
        {"database": "postgresql", **ALL_OPTIONS},
        id="postgresql-all-options-py3.13",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        {"database": "postgresql", "auth": "false", "worker": "true", "cache": "true"},
        id="postgresql-noauth-worker-cache-py3.13",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        {"python_version": "3.12", "worker": "true", "observability": "true"},
        id="sqlite-worker-observability-py3.12",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        {"python_version": "3.11", "cache": "true", "observability": "true"},
        id="sqlite-cache-observability-py3.11",
        marks=pytest.mark.slow,
    ),
    pytest.param({**NASTY_ANSWERS, **ALL_OPTIONS}, id="nasty-answers-sqlite-all-options-py3.13"),
    pytest.param(
        {**NASTY_ANSWERS, "database": "postgresql", **ALL_OPTIONS},
        id="nasty-answers-postgresql-all-options-py3.13",
        marks=pytest.mark.slow,
    ),
]


def test_matrix_covers_the_options_pairwise() -> None:
    """Each pair of options is seen in all four on/off combinations."""
    options = sorted(ALL_OPTIONS)
    rows = [{name: param.values[0].get(name) == "true" for name in options} for param in MATRIX]
    assert {True, False} == {row[name] for row in rows for name in options}
    assert any(all(row.values()) for row in rows)
    assert not all(any(row.values()) for row in rows)
    for index, first in enumerate(options):
        for second in options[index + 1 :]:
            seen = {(row[first], row[second]) for row in rows}
            assert len(seen) == 4, (first, second, seen)


@pytest.fixture(params=MATRIX, scope="module")
def project(request: pytest.FixtureRequest, projects: ProjectCache) -> Project:
    answers: dict[str, str] = request.param
    if answers.get("database") == "postgresql":
        require_postgres()
    return projects.get(**answers)


def test_ruff_check(project: Project) -> None:
    project.uv_run("ruff", "check", "--no-cache")


def test_ruff_format(project: Project) -> None:
    project.uv_run("ruff", "format", "--check", "--no-cache")


def test_mypy(project: Project) -> None:
    result = project.uv_run("mypy")
    assert "Success" in result.stdout, result.stdout


def _databases(project: Project) -> set[str]:
    """The server's databases named after the project (its tests' own are)."""
    names = psql("SELECT datname FROM pg_database").split()
    return {name for name in names if project.package in name}


def test_pytest(project: Project) -> None:
    env: dict[str, str | None] = {}
    before: set[str] = set()
    if project.database == "postgresql":
        env["DATABASE_URL"] = POSTGRES_URL
        before = _databases(project)
    # With the CI's depth of property-based tests; on PostgreSQL in parallel too, as the
    # project's CI runs it (each process migrates a database of its own). SQLite projects run
    # one process, the default: on two CPUs, xdist's start-up costs more than it saves.
    env["CI"] = "true"
    parallel = ["-n", "2"] if project.database == "postgresql" else []
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", *parallel, env=env)
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed, f"no test passed:\n{result.stdout}"
    assert int(passed[1]) > 0, result.stdout
    if project.database == "postgresql":
        left = _databases(project) - before
        assert not left, f"the project's tests left databases behind: {sorted(left)}"


# ---------------------------------------------------------------------------
# Migrations: upgrade head -> downgrade base -> upgrade head, on a fresh database
# ---------------------------------------------------------------------------


class Database:
    """A fresh, empty database for one test, and a way to list its tables."""

    def __init__(self, project: Project, tmp_path: Path) -> None:
        self.project = project
        if project.database == "postgresql":
            self.name = f"template_migrations_{uuid.uuid4().hex[:12]}"
            psql(f'CREATE DATABASE "{self.name}"')
            self.url = urlsplit(POSTGRES_URL)._replace(path=f"/{self.name}").geturl()
        else:
            self.path = tmp_path / "migrations.db"
            self.url = f"sqlite+aiosqlite:///{self.path}"

    def tables(self) -> set[str]:
        if self.project.database == "postgresql":
            query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            return set(psql(query, database=self.name).split())
        with sqlite3.connect(self.path) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in rows}

    def drop(self) -> None:
        if self.project.database == "postgresql":
            psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def database(project: Project, tmp_path: Path) -> Iterator[Database]:
    db = Database(project, tmp_path)
    yield db
    db.drop()


def test_migrations_round_trip(project: Project, database: Database) -> None:
    env = {"DATABASE_URL": database.url}

    project.uv_run("alembic", "upgrade", "head", env=env)
    assert "items" in database.tables(), database.tables()
    auth_tables = {"users", "refresh_tokens"}
    if project.auth:
        assert auth_tables <= database.tables(), database.tables()
    else:
        assert not auth_tables & database.tables(), database.tables()
    # The models and the migrations agree: autogenerate would find nothing to do.
    project.uv_run("alembic", "check", env=env)

    project.uv_run("alembic", "downgrade", "base", env=env)
    assert not database.tables() - {"alembic_version"}, database.tables()

    project.uv_run("alembic", "upgrade", "head", env=env)
    assert "items" in database.tables(), database.tables()
    current = project.uv_run("alembic", "current", env=env)
    assert "(head)" in current.stdout, current.stdout
