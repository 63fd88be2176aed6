"""The generated service, served for real: `uv run fastapi run`, then HTTP calls."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from support import Project, ProjectCache, free_port, subprocess_env, tail, wait_until_ready

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


# As the README's quick start has it (`cp .env.example .env`): without ENVIRONMENT (or an
# AUTH_SECRET_KEY of its own), a project with auth refuses to start.
DEVELOPMENT = {"ENVIRONMENT": "development", "AUTH_SECRET_KEY": None}


class Server:
    def __init__(
        self, project: Project, log: Path, env: Mapping[str, str | None] = DEVELOPMENT
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = log.open("wb")
        # Its own process group, so that SIGTERM reaches uv and the server it runs.
        self.process = subprocess.Popen(
            ["uv", "run", "fastapi", "run", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=project.path,
            env=subprocess_env(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        self._log_file.flush()
        return tail(self.log.read_bytes())

    def wait_ready(self) -> None:
        wait_until_ready(self.base_url, self.process, self.output, timeout=READY_TIMEOUT)

    def stop(self) -> int | None:
        """SIGTERM the group; SIGKILL it if it has not stopped in time. The exit code,
        or None if it had to be killed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                self._log_file.close()
                return None
        self._log_file.close()
        return self.process.returncode


@pytest.fixture(scope="module")
def served(projects: ProjectCache, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = projects.get()
    # As the project's README says: create the schema, then serve.
    project.uv_run("alembic", "upgrade", "head")
    server = Server(project, tmp_path_factory.mktemp("server") / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        stopped = server.stop()
    assert stopped is not None, f"the server ignored SIGTERM for {STOP_TIMEOUT:.0f} s"


@pytest.fixture
def client(served: Server) -> Iterator[httpx.Client]:
    """A client of a newly registered user, logged in with the OAuth2 password flow
    (the default project has `auth`): its items requests carry the bearer token."""
    with httpx.Client(base_url=served.base_url, timeout=10) as client:
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        credentials = {"email": email, "password": "s3cret-pass"}
        registered = client.post("/api/v1/users", json=credentials)
        assert registered.status_code == 201, f"{registered.text}\n{served.output()}"
        token = client.post(
            "/api/v1/auth/token",
            data={"username": credentials["email"], "password": credentials["password"]},
        )
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def test_health(client: httpx.Client) -> None:
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200


def test_items_round_trip(client: httpx.Client, served: Server) -> None:
    name = f"widget-{uuid.uuid4().hex[:8]}"

    created = client.post("/api/v1/items", json={"name": name, "description": "A widget"})
    assert created.status_code == 201, f"{created.text}\n{served.output()}"
    item = created.json()
    assert item["name"] == name
    assert item["description"] == "A widget"
    item_id = item["id"]

    listed = client.get("/api/v1/items")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert {"items", "total", "limit", "offset"} <= set(page), page
    assert page["total"] >= 1
    assert item_id in [entry["id"] for entry in page["items"]], page

    fetched = client.get(f"/api/v1/items/{item_id}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["name"] == name

    patched = client.patch(f"/api/v1/items/{item_id}", json={"description": "Changed"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "Changed"
    assert client.get(f"/api/v1/items/{item_id}").json()["description"] == "Changed"

    deleted = client.delete(f"/api/v1/items/{item_id}")
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""

    missing = client.get(f"/api/v1/items/{item_id}")
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json"), missing.headers
    problem = missing.json()
    assert problem["status"] == 404, problem
    assert problem.get("title"), problem


def test_refuses_to_sign_with_the_public_key_unless_told_it_is_development(
    projects: ProjectCache, tmp_path: Path
) -> None:
    """A deployment that forgot both ENVIRONMENT and AUTH_SECRET_KEY does not start."""
    bare = {"ENVIRONMENT": None, "AUTH_SECRET_KEY": None}
    server = Server(projects.get(), tmp_path / "server.log", env=bare)
    try:
        returncode = server.process.wait(READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        output = server.output()
        server.stop()
        pytest.fail(f"the server started with the public key:\n{output}", pytrace=False)
    output = server.output()
    server.stop()
    assert returncode != 0, output
    assert "PublicSigningKeyError" in output, output
    assert "ENVIRONMENT=development" in " ".join(output.split()), output
