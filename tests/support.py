"""Helpers for the template's tests: generating projects, running their tools.

Every subprocess runs with `subprocess_env()`: the interpreters of the offered Python
versions first on PATH (uv does not see through pyenv shims) and
`UV_PYTHON_DOWNLOADS=never`, so uv uses what is installed and never downloads one.
What the benchmark (bench/) needs too is in the `template_harness` package, re-exported
here; this module adds what only tests do (skip, fail, cached synced projects).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from template_harness import postgres
from template_harness.postgres import POSTGRES_URL as POSTGRES_URL
from template_harness.process import OUTPUT_TAIL_LINES
from template_harness.process import PYTHON_VERSIONS as PYTHON_VERSIONS
from template_harness.process import interpreter_dirs as interpreter_dirs
from template_harness.process import subprocess_env as subprocess_env
from template_harness.process import tail as tail
from template_harness.template import ROOT as ROOT
from template_harness.template import generate as generate
from template_harness.template import snapshot_template as snapshot_template

SEED_DIR = Path(os.environ.get("TEMPLATE_TEST_SEED_DIR") or ROOT.parent / "shared" / "seed")
"""Reference copies beside the repository (the agent file); TEMPLATE_TEST_SEED_DIR elsewhere."""

DEFAULT_ANSWERS: Mapping[str, str] = {
    "python_version": "3.13",
    "database": "sqlite",
    "auth": "true",
    "worker": "false",
    "cache": "false",
    "observability": "false",
}
"""Answers that `--defaults` gives; used to key the project cache."""

PWNED = Path(tempfile.gettempdir()) / f"template-tests-pwned-{os.getpid()}"
"""A file that nothing may create: the nasty answers hold shell commands that would."""

_NASTY_TEXT = (
    "Ünïcödé \"Quotes\" \\ Back'slash ''' \"\"\" \\n \\x22 \\N{BULLET} "
    f"$(touch {PWNED}) `touch {PWNED}` ${{HOME}} %s {{0}} {{{{ 7*7 }}}} {{% raw %}} "
    "– ℹ 😀 日本 # *x* _y_ <b>&amp; [l](u) | ~z~ $m$"
)
NASTY_ANSWERS: Mapping[str, str] = {
    "project_name": f"{_NASTY_TEXT}, a name of more than 100 characters",
    "description": f"1. {_NASTY_TEXT}, described",
    "author_name": f"O'Brien \"The \\ Builder\" 日本 $(touch {PWNED})",
    "author_email": "o'brien+x@example.com",
    "project_slug": "nasty-answers-with-the-longest-slug-40ch",
    "package_name": "orders_core_longest_24ch",
}
"""Free-text answers that break out of a naive rendering (quotes, backslashes, escapes,
shell, Jinja and Markdown syntax, non-ASCII look-alikes), with the longest project_slug
and package_name the validators allow, and a package_name unlike the slug's. A project
generated with them must pass all its own checks."""

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
REFUSED_CHARACTERS = (
    "".join(chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)])
    + "\u2028\u2029\ufffe\uffff"
    + BIDI_CONTROLS
)
"""What a one-line answer may not hold (includes/checks.jinja): control characters (C0,
DEL, C1), line and paragraph separators, bidirectional controls, U+FFFE and U+FFFF."""

REQUIRE_FULL_MATRIX = os.environ.get("TEMPLATE_TEST_REQUIRE_FULL_MATRIX", "") not in ("", "0")
"""Set (as .ci/run and the CI workflow do) to fail, not skip, when an interpreter or
PostgreSQL is missing: there the whole matrix must run."""

# ---------------------------------------------------------------------------
# Interpreters and environment
# ---------------------------------------------------------------------------


def missing_prerequisite(reason: str) -> None:
    """Skip for a genuinely missing prerequisite, or fail where the full matrix is required."""
    if REQUIRE_FULL_MATRIX:
        pytest.fail(f"{reason} (TEMPLATE_TEST_REQUIRE_FULL_MATRIX is set)", pytrace=False)
    pytest.skip(reason)


@functools.cache
def find_python(minor: str) -> str | None:
    """The interpreter uv would use for `minor`, or None."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is not on PATH: install it (https://docs.astral.sh/uv/)", pytrace=False)
    result = subprocess.run(
        [uv, "python", "find", "--no-project", minor],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def require_python(minor: str) -> None:
    if find_python(minor) is None:
        missing_prerequisite(
            f"no Python {minor} interpreter found (pyenv versions or PATH) and uv may not "
            f"download one: install Python {minor} to test python_version={minor}"
        )


def postgres_params() -> dict[str, str]:
    """host, port, user, password of POSTGRES_URL, for psql."""
    return postgres.postgres_params(POSTGRES_URL)


def psql(sql: str, *, database: str = "postgres") -> str:
    """Run one SQL statement with psql on the test server; return its unaligned output."""
    args, env = postgres.psql_command(POSTGRES_URL, sql, database)
    return run(args, cwd=ROOT, env=env, timeout=60).stdout.strip()


@functools.cache
def _postgres_error() -> str | None:
    """None if the test server answers, else psql's error."""
    args, env = postgres.psql_command(POSTGRES_URL, "SELECT 1", "postgres")
    result = subprocess.run(
        args,
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()


def require_postgres() -> None:
    if shutil.which("psql") is None:
        missing_prerequisite(
            "psql not found: install the PostgreSQL client to test database=postgresql"
        )
    if error := _postgres_error():
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({error}). Start it, point "
            "TEMPLATE_TEST_POSTGRES_URL at one, or deselect the matrix with -m 'not slow'.",
            pytrace=False,
        )


# ---------------------------------------------------------------------------
# Subprocesses
# ---------------------------------------------------------------------------


def run(
    cmd: Sequence[str | os.PathLike[str]],
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    *,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`, stdout and stderr together in `.stdout`; on failure (non-zero exit when
    `check`, or timeout) fail the test with the command and the end of its output."""
    args = [os.fspath(part) for part in cmd]
    shown = shlex.join(args)
    try:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=subprocess_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"`{shown}` (in {cwd}) timed out after {timeout:.0f} s; last output:\n"
            f"{tail(exc.output)}",
            pytrace=False,
        )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{shown}` (in {cwd}) exited with {result.returncode}; last "
            f"{OUTPUT_TAIL_LINES} lines of output:\n{tail(result.stdout)}",
            pytrace=False,
        )
    return result


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(
    base_url: str,
    process: subprocess.Popen[bytes],
    output: Callable[[], str],
    *,
    name: str = "the server",
    timeout: float = 30.0,
) -> None:
    """Wait until `base_url`/health/ready answers 200; fail with the server's `output()` if
    `process` exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{name} exited with {process.returncode} before it was ready:\n{output()}",
                pytrace=False,
            )
        try:
            response = httpx.get(f"{base_url}/health/ready", timeout=2)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        time.sleep(0.1)
    pytest.fail(
        f"{name}: /health/ready not 200 within {timeout:.0f} s (last: {last}):\n{output()}",
        pytrace=False,
    )


def copier_cli(
    *args: str | os.PathLike[str], cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`copier` from this environment, as a user runs it (never with --trust)."""
    return run([sys.executable, "-m", "copier", *args], cwd=cwd, check=check, timeout=300)


# ---------------------------------------------------------------------------
# Generated files
# ---------------------------------------------------------------------------


def project_files(project: Path) -> list[Path]:
    """Every file the template generated (not what tools created afterwards)."""
    skipped = {".venv", ".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
    return sorted(
        path
        for path in project.rglob("*")
        if path.is_file() and not skipped.intersection(path.relative_to(project).parts)
    )


# ---------------------------------------------------------------------------
# Synced projects, cached for the session
# ---------------------------------------------------------------------------


@dataclass
class Project:
    """A generated project whose environment `uv sync` has built."""

    path: Path
    answers: dict[str, str]

    @property
    def package(self) -> str:
        return self.answers["package_name"]

    @property
    def database(self) -> str:
        return self.answers["database"]

    @property
    def auth(self) -> bool:
        return self.answers["auth"] == "True"

    @property
    def python_version(self) -> str:
        return self.answers["python_version"]

    def run(
        self,
        *cmd: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        timeout: float = 600,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return run(cmd, cwd=self.path, env=env, timeout=timeout, check=check)

    def uv_run(
        self,
        *cmd: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        timeout: float = 600,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return self.run("uv", "run", *cmd, env=env, timeout=timeout, check=check)


@dataclass
class ProjectCache:
    """Generated and synced projects, one per set of answers, shared by all tests."""

    template: Path
    tmp_path_factory: pytest.TempPathFactory
    _projects: dict[tuple[tuple[str, str], ...], Project] = field(default_factory=dict)
    _failures: dict[tuple[tuple[str, str], ...], str] = field(default_factory=dict)

    def get(self, **answers: str) -> Project:
        full = {**DEFAULT_ANSWERS, **answers}
        key = tuple(sorted(full.items()))
        require_python(full["python_version"])
        if key in self._failures:
            pytest.fail(self._failures[key], pytrace=False)
        if key not in self._projects:
            label = "-".join(f"{name}={value}" for name, value in key)
            try:
                self._projects[key] = self._build(full, label)
            except (pytest.fail.Exception, Exception) as exc:
                self._failures[key] = f"setting up the project ({label}) failed:\n{exc}"
                raise
        return self._projects[key]

    def _build(self, answers: dict[str, str], label: str) -> Project:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60]
        path = generate(self.template, self.tmp_path_factory.mktemp(name) / "project", answers)
        recorded = read_answers(path)
        run(["uv", "sync"], cwd=path, timeout=900)
        version = run(
            [
                path / ".venv" / "bin" / "python",
                "-c",
                "import sys; print('%d.%d' % sys.version_info[:2])",
            ],
            cwd=path,
        ).stdout.strip()
        assert version == answers["python_version"], (
            f"uv sync built the venv with Python {version}, expected {answers['python_version']}"
        )
        return Project(path=path, answers={k: str(v) for k, v in recorded.items()})


def read_answers(project: Path) -> dict[str, object]:
    """The answers recorded in the project's answers file, private keys left out."""
    answers_file = project / ".copier-answers.yml"
    assert answers_file.is_file(), f"{answers_file} was not written"
    data = yaml.safe_load(answers_file.read_text())
    assert isinstance(data, dict), f"{answers_file} is not a mapping: {data!r}"
    return {key: value for key, value in data.items() if not key.startswith("_")}
