"""The generated projects: the template snapshot, `copier copy`, `uv sync`, the database.

Also the generated test suite's timing (bench/pytest_timing.py) and `copier copy` -> green
tests, which measure a project rather than a server.
"""

from __future__ import annotations

import json
import statistics
import sys
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from template_harness import postgres
from template_harness import template as harness_template
from template_harness.process import tail
from template_harness.template import ROOT

from common import BENCH, BenchError, first_match, log, run, timed

PACKAGE = "bench_service"


SEED_ITEMS = 10_000


@dataclass
class Postgres:
    """psql against the server of `url` (an SQLAlchemy URL, `postgresql+asyncpg://...`)."""

    url: str
    database: str = "postgres"

    @property
    def params(self) -> dict[str, str]:
        return postgres.postgres_params(self.url)

    def psql(self, sql: str, database: str | None = None) -> str:
        args, env = postgres.psql_command(self.url, sql, database or self.database)
        return run(args, ROOT, env, timeout=300).stdout.strip()

    def scalar(self, sql: str, database: str | None = None) -> str:
        lines = self.psql(sql, database).splitlines()
        return lines[0] if lines else ""

    def sqlalchemy_url(self, database: str) -> str:
        p = self.params
        auth = p["user"] + (f":{p['password']}" if p["password"] else "")
        return f"postgresql+asyncpg://{auth}@{p['host']}:{p['port']}/{database}"

    def dsn(self, database: str) -> str:
        return self.sqlalchemy_url(database).replace("postgresql+asyncpg://", "postgresql://")


def snapshot_template(dst: Path, source: str) -> Path:
    """The template as it is on disk (`worktree`: committed or not, the tests' own
    snapshot), or as committed (`head`), copied outside git so Copier renders exactly that."""
    dst.mkdir(parents=True)
    if source == "head":
        archive = dst.parent / "template.tar"
        run(["git", "archive", "--format=tar", "-o", archive, "HEAD"], ROOT)
        with tarfile.open(archive) as tar:
            tar.extractall(dst, filter="data")
        archive.unlink()
        return dst
    try:
        return harness_template.snapshot_template(dst)
    except FileNotFoundError as exc:
        raise BenchError(str(exc)) from None


def copier_copy(template: Path, dst: Path, answers: Mapping[str, str]) -> float:
    """`copier copy --defaults` from this (the template repository's) environment."""
    data = [arg for key, value in answers.items() for arg in ("-d", f"{key}={value}")]
    cmd = [sys.executable, "-m", "copier", "copy", "--defaults", "--quiet", *data, template, dst]
    return timed(cmd, ROOT, timeout=300)


def make_project(template: Path, dst: Path, answers: Mapping[str, str]) -> None:
    """Generate a project with `answers` and build its environment (`uv sync`)."""
    copier_copy(template, dst, answers)
    run(["uv", "sync"], dst, timeout=900)


SUPERUSER_EMAIL = "bench@example.com"


def migrate(project: Path, database_url: str) -> None:
    """Migrate the (empty) database with the project's Alembic."""
    run(["uv", "run", "alembic", "upgrade", "head"], project, {"DATABASE_URL": database_url})


def create_superuser(project: Path, env: Mapping[str, str], password: str) -> int:
    """A superuser made with the project's own command (auth on); their id."""
    result = run(
        ["uv", "run", "python", "-m", f"{PACKAGE}.users.create_superuser"]
        + ["--email", SUPERUSER_EMAIL],
        project,
        {**env, "SUPERUSER_PASSWORD": password},
    )
    return int(first_match(r"\(id (\d+)\)", result.stdout, "0"))


def seed_items(
    postgres: Postgres, database: str, first: int, last: int, owner_id: int | None
) -> tuple[int, int]:
    """Insert items number `first`..`last` with SQL (owned by `owner_id` when auth is on) and
    analyze the table; return the table's lowest and highest item id."""
    owner = ("owner_id, ", f"{owner_id}, ") if owner_id is not None else ("", "")
    postgres.psql(
        f"INSERT INTO items ({owner[0]}name, description) SELECT {owner[1]}'item-' || g, "
        "'Seeded item ' || g || ' ' || md5(g::text) "
        f"FROM generate_series({first}, {last}) AS g",
        database,
    )
    postgres.psql("VACUUM (ANALYZE) items", database)
    low, high = map(
        int, postgres.scalar("SELECT min(id) || ' ' || max(id) FROM items", database).split()
    )
    log(f"database {database}: items {first}..{last} seeded (ids {low}..{high})")
    return low, high


def copier_to_green(template: Path, work: Path, green: Path, timeout: float) -> dict[str, float]:
    """`copier copy` -> `uv sync` -> a passing `uv run pytest` of a default (SQLite) project
    in `green`, timed after a first such project (in `work`) has warmed the uv cache."""
    warm = work / "warm" / "my_service"
    copier_copy(template, warm, {})
    run(["uv", "sync"], warm, timeout=900)
    copier_s = copier_copy(template, green, {})
    sync_s = timed(["uv", "sync"], green, timeout=900)
    pytest_s = timed(["uv", "run", "pytest", "-q"], green, timeout=timeout)
    return {
        "copier_s": copier_s,
        "sync_s": sync_s,
        "pytest_s": pytest_s,
        "total_s": copier_s + sync_s + pytest_s,
    }


def project_versions(project: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, platform\n"
        "names = ['fastapi', 'starlette', 'pydantic', 'sqlalchemy', 'asyncpg', 'uvicorn',"
        " 'uvloop', 'httptools', 'structlog']\n"
        "out = {'python': platform.python_version()}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    result = run([project / ".venv" / "bin" / "python", "-c", code], project)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_databases(postgres: Postgres) -> set[str]:
    """The generated suite's own databases (`test_<package>_<hex>` and the contract
    fuzzer's `fuzz_<package>_<hex>`), normally dropped by it."""
    rows = postgres.psql(
        f"SELECT datname FROM pg_database WHERE datname ~ '^(test|fuzz)_{PACKAGE}_'"
    )
    return set(rows.split())


RAN_OK = ("passed", "skipped")
"""Outcomes of a generated test that do not fail the suite's timing."""


def suite_timing(
    project: Path, env: Mapping[str, str | None], out: Path, timeout: float
) -> dict[str, Any]:
    """The generated project's `uv run pytest`, timed per test by bench/pytest_timing.py."""
    env = {**env, "PYTHONPATH": str(BENCH), "BENCH_TIMING_OUT": str(out)}
    start = time.perf_counter()
    result = run(
        ["uv", "run", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_timing"],
        project,
        env,
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    data = json.loads(out.read_text())
    failed = [nodeid for nodeid, t in data["tests"].items() if t["outcome"] not in RAN_OK]
    if failed:
        raise BenchError(f"generated tests not all passed: {failed}\n{tail(result.stdout)}")
    # A skipped test (one for the other database, say) did not run: it is not timed.
    tests = {nodeid: t for nodeid, t in data["tests"].items() if t["outcome"] == "passed"}
    count = len(tests)
    phases = sum(
        t.get("setup", 0) + t.get("call", 0) + t.get("teardown", 0) for t in tests.values()
    )
    oneoff = sum(t["oneoff_setup"] + t["oneoff_teardown"] for t in tests.values())
    per_test = [
        t.get("setup", 0)
        + t.get("call", 0)
        + t.get("teardown", 0)
        - t["oneoff_setup"]
        - t["oneoff_teardown"]
        for t in tests.values()
    ]
    return {
        "tests": count,
        "skipped": len(data["tests"]) - count,
        "ms_per_test": 1000 * (phases - oneoff) / count,
        "ms_per_test_call_only": 1000 * sum(t.get("call", 0) for t in tests.values()) / count,
        "ms_per_test_median": 1000 * statistics.median(per_test),
        "ms_per_test_max": 1000 * max(per_test),
        "ms_per_test_without_3_slowest": 1000 * sum(sorted(per_test)[:-3]) / max(1, count - 3),
        "oneoff_s": oneoff,
        "wall_s": wall,
        "ms_per_test_wall": 1000 * wall / count,
        "slowest": [
            {"test": nodeid, "ms": round(1000 * ms, 1)}
            for ms, nodeid in sorted(
                (
                    (
                        t.get("setup", 0)
                        + t.get("call", 0)
                        + t.get("teardown", 0)
                        - t["oneoff_setup"]
                        - t["oneoff_teardown"],
                        nodeid,
                    )
                    for nodeid, t in tests.items()
                ),
                reverse=True,
            )[:5]
        ],
        "summary": tail(result.stdout, 1),
    }
