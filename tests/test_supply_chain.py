"""The generated CI's supply-chain job passes on a generated project, and fails when it
should: each step's `run` script is taken from the generated `.github/workflows/ci.yml`
and run with `bash -e` in the project, as GitHub Actions runs it.

The dependency audit asks the OSV database about every locked package. The tests run it
against a local stand-in for OSV's query API (pip-audit's `PIP_AUDIT_OSV_URL`), which
records what is asked and answers with advisories the test chooses, so they need only
PyPI (where .ci/run runs, nothing else is reachable); and against the real database
too, where api.osv.dev answers (skipped, with the reason, where it does not).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import Project, ProjectCache, run

JOB = "supply-chain"
AUDIT_STEP = "Audit the locked dependencies for known vulnerabilities"
LINT_STEP = "Lint the Dockerfile"
OSV_HOST = "api.osv.dev"

MATRIX = [
    pytest.param({}, id="sqlite"),
    pytest.param({"database": "postgresql"}, id="postgresql", marks=pytest.mark.slow),
]


@pytest.fixture(params=MATRIX, scope="module")
def project(request: pytest.FixtureRequest, projects: ProjectCache) -> Project:
    answers: dict[str, str] = request.param
    return projects.get(**answers)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def step_script(project: Project, name: str) -> str:
    workflow = yaml.safe_load((project.path / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"][JOB]["steps"]
    scripts = [step["run"] for step in steps if step.get("name") == name]
    assert len(scripts) == 1, f"expected one step {name!r} with a `run` in job {JOB!r}"
    return str(scripts[0])


def run_step(
    project: Project,
    name: str,
    runner_temp: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """The step's script, with bash -e as GitHub Actions runs it, in `cwd` (the project)."""
    return run(
        ["bash", "-e", "-c", step_script(project, name)],
        cwd=cwd or project.path,
        env={"RUNNER_TEMP": str(runner_temp), **(env or {})},
        timeout=300,
        check=check,
    )


def installed_packages(project: Project) -> set[tuple[str, str]]:
    """(name, version) of every package `uv sync` installed, the project itself excepted."""
    listing = project.run(
        project.path / ".venv" / "bin" / "python",
        "-c",
        "import importlib.metadata as m, json; "
        "print(json.dumps([[d.name, d.version] for d in m.distributions()]))",
    ).stdout
    own = canonical(project.answers["project_slug"])
    packages = {(canonical(name), version) for name, version in json.loads(listing)}
    return {(name, version) for name, version in packages if name != own}


# ---------------------------------------------------------------------------
# A local stand-in for OSV's query API
# ---------------------------------------------------------------------------


@dataclass
class OsvStandIn:
    """Answers `POST /v1/query` as OSV does: no vulnerabilities, except those in
    `advisories` (by package name); records each (package, version) it is asked about."""

    url: str = ""
    queries: list[tuple[str, str]] = field(default_factory=list)
    advisories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        package = query["package"]
        assert package["ecosystem"] == "PyPI", query
        self.queries.append((package["name"], query["version"]))
        vulns = self.advisories.get(package["name"])
        return {"vulns": vulns} if vulns else {}

    def advise(self, package: str, version: str, advisory_id: str) -> None:
        """Report a vulnerability in `package` at `version`, fixed in no release."""
        affected = {"package": {"name": package, "ecosystem": "PyPI"}, "versions": [version]}
        self.advisories[package] = [
            {"id": advisory_id, "summary": "A test advisory", "affected": [affected]}
        ]

    @property
    def env(self) -> dict[str, str]:
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))
        return {"PIP_AUDIT_OSV_URL": self.url, "NO_PROXY": no_proxy, "no_proxy": no_proxy}


@pytest.fixture
def osv() -> Iterator[OsvStandIn]:
    stand_in = OsvStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            body = json.dumps(stand_in.answer(json.loads(self.rfile.read(length)))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # quiet: pytest shows the step's output on failure

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join()


# ---------------------------------------------------------------------------
# Dependency audit
# ---------------------------------------------------------------------------


def test_audit_passes_and_covers_every_installed_package(
    project: Project, osv: OsvStandIn, tmp_path: Path
) -> None:
    run_step(project, AUDIT_STEP, tmp_path, env=osv.env)

    asked = set(osv.queries)
    assert len(asked) == len(osv.queries), "a package was looked up twice"
    installed = installed_packages(project)
    assert asked == installed, (
        f"not audited: {sorted(installed - asked)}; audited, not installed: "
        f"{sorted(asked - installed)}"
    )


def test_audit_fails_on_a_known_vulnerability(
    project: Project, osv: OsvStandIn, tmp_path: Path
) -> None:
    [version] = [version for name, version in installed_packages(project) if name == "fastapi"]
    osv.advise("fastapi", version, "GHSA-test-0000-0000")

    result = run_step(project, AUDIT_STEP, tmp_path, env=osv.env, check=False)

    assert result.returncode != 0, f"the audit passed despite the advisory:\n{result.stdout}"
    assert re.search(rf"fastapi\s+{re.escape(version)}\s+GHSA-test-0000-0000", result.stdout), (
        result.stdout
    )


def osv_unreachable() -> str | None:
    try:
        socket.create_connection((OSV_HOST, 443), timeout=5).close()
    except OSError as exc:
        return f"{OSV_HOST} is not reachable from here ({exc})"
    return None


def test_audit_passes_against_the_osv_database(project: Project, tmp_path: Path) -> None:
    if reason := osv_unreachable():
        pytest.skip(f"{reason}; the stand-in tests above cover the step")
    run_step(project, AUDIT_STEP, tmp_path)


# ---------------------------------------------------------------------------
# Dockerfile lint
# ---------------------------------------------------------------------------


def test_dockerfile_lint_passes(project: Project, tmp_path: Path) -> None:
    run_step(project, LINT_STEP, tmp_path)


def test_dockerfile_lint_fails_on_a_finding(project: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "Dockerfile").write_text("FROM python:latest\nCMD python\n")

    result = run_step(project, LINT_STEP, tmp_path, cwd=elsewhere, check=False)

    assert result.returncode != 0, f"hadolint passed a bad Dockerfile:\n{result.stdout}"
    assert "DL3007" in result.stdout, result.stdout  # "Using latest is prone to errors"
