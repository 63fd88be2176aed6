"""The contract, checked from outside: `schemathesis run` with every check and every phase
(examples, coverage, fuzzing, stateful) against a served project finds nothing.

The generated contract test runs the same phases in-process; this runs the CLI a user
would, over HTTP, on 127.0.0.1: with auth (a real bearer token) and without, on SQLite
and (slow) PostgreSQL. Bounded: a few examples per operation, a fixed seed, a timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from support import POSTGRES_URL, Project, ProjectCache, psql, require_postgres, tail
from test_generated_project import MATRIX
from test_server import DEVELOPMENT, Server

# The first four answer sets of test_generated_project's matrix (SQLite with and without auth,
# PostgreSQL with and without auth; the PostgreSQL ones slow), so the synced projects are shared.
CASES = MATRIX[:4]
MAX_EXAMPLES = 15
SEED = 20_240_601
CLI_TIMEOUT = 600.0
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=CASES, scope="module")
def project(request: pytest.FixtureRequest, projects: ProjectCache) -> Project:
    answers: dict[str, str] = request.param
    if answers.get("database") == "postgresql":
        require_postgres()
    return projects.get(**answers)


@pytest.fixture
def database_url(project: Project, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, migrated as the README says (`alembic upgrade head`)."""
    if project.database == "postgresql":
        name = f"template_contract_{uuid.uuid4().hex[:12]}"
        psql(f'CREATE DATABASE "{name}"')
        url = urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    else:
        name = ""
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    try:
        project.uv_run("alembic", "upgrade", "head", env={"DATABASE_URL": url})
        yield url
    finally:
        if name:
            psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def served(project: Project, database_url: str, tmp_path: Path) -> Iterator[Server]:
    """The project served by `uv run fastapi run`; Redis keys (cache, task queue) under a
    prefix of its own, deleted afterwards."""
    prefix = f"template-contract-{uuid.uuid4().hex[:8]}:"
    env = {
        **DEVELOPMENT,
        "DATABASE_URL": database_url,
        "CACHE_KEY_PREFIX": f"{prefix}cache:",
        "TASK_QUEUE": f"{prefix}tasks",
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    server = Server(project, tmp_path / "server.log", env=env)
    try:
        server.wait_ready()
        yield server
    finally:
        stopped = server.stop()
        if project.answers.get("worker") == "True" or project.answers.get("cache") == "True":
            _delete_redis_keys(project, prefix)
    assert stopped is not None, "the server ignored SIGTERM"


def _delete_redis_keys(project: Project, prefix: str) -> None:
    script = (
        "import redis, sys\n"
        "r = redis.Redis.from_url(sys.argv[2])\n"
        "keys = list(r.scan_iter(match=sys.argv[1] + '*'))\n"
        "r.delete(*keys) if keys else None\n"
    )
    project.uv_run("python", "-c", script, prefix, REDIS_URL, timeout=60)


def _bearer_token(server: Server) -> str:
    """An access token of a newly registered user, by the OAuth2 password flow."""
    credentials = {"email": f"cli-{uuid.uuid4().hex[:8]}@example.com", "password": "s3cret-pass"}
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        registered = client.post("/api/v1/users", json=credentials)
        assert registered.status_code == 201, f"{registered.text}\n{server.output()}"
        token = client.post(
            "/api/v1/auth/token",
            data={"username": credentials["email"], "password": credentials["password"]},
        )
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


def test_schemathesis_cli_finds_no_failure(project: Project, served: Server) -> None:
    headers = ["-H", f"Authorization: Bearer {_bearer_token(served)}"] if project.auth else []
    result = project.uv_run(
        "schemathesis",
        "run",
        f"{served.base_url}/openapi.json",
        *("--checks", "all"),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(MAX_EXAMPLES)),
        *("--seed", str(SEED)),
        *("--request-timeout", "10"),
        *headers,
        "--no-color",
        timeout=CLI_TIMEOUT,
        check=False,
    )

    output = result.stdout
    assert result.returncode == 0, (
        f"schemathesis run exited with {result.returncode}:\n{tail(output, 200)}\n"
        f"server log:\n{served.output()}"
    )
    # Every phase ran (a phase it skips, such as examples with none in the schema, says so).
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in output, tail(output, 200)
    assert "FAILURES" not in output, tail(output, 200)
