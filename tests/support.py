"""Helpers for the template's tests: generating projects, running their tools.

Every subprocess runs with `subprocess_env()`: the interpreters of the offered Python
versions first on PATH (uv does not see through pyenv shims) and
`UV_PYTHON_DOWNLOADS=never`, so uv uses what is installed and never downloads one.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import copier
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = Path(os.environ.get("TEMPLATE_TEST_SEED_DIR") or ROOT.parent / "shared" / "seed")
"""Reference copies beside the repository (the agent file); TEMPLATE_TEST_SEED_DIR elsewhere."""

PYTHON_VERSIONS = ("3.13", "3.12", "3.11")
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

POSTGRES_URL = os.environ.get(
    "TEMPLATE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
"""A PostgreSQL server where the tests may create and drop databases."""

REQUIRE_FULL_MATRIX = os.environ.get("TEMPLATE_TEST_REQUIRE_FULL_MATRIX", "") not in ("", "0")
"""Set (as .ci/run and the CI workflow do) to fail, not skip, when an interpreter or
PostgreSQL is missing: there the whole matrix must run."""

OUTPUT_TAIL_LINES = 80

# Variables from the caller's shell that would leak into a generated project's tools.
_STRIPPED_ENV = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYENV_VERSION",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "UV_FROZEN",
    "UV_LOCKED",
    "UV_NO_SYNC",
    "DATABASE_URL",
)


# ---------------------------------------------------------------------------
# Interpreters and environment
# ---------------------------------------------------------------------------


def _pyenv_root() -> Path | None:
    if root := os.environ.get("PYENV_ROOT"):
        return Path(root)
    if pyenv := shutil.which("pyenv"):
        result = subprocess.run(
            [pyenv, "root"], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if result.returncode == 0 and result.stdout.strip():
            return Path(result.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


@functools.cache
def interpreter_dirs() -> tuple[Path, ...]:
    """The `bin` directory of the newest pyenv build of each offered Python version."""
    root = _pyenv_root()
    if root is None:
        return ()
    dirs = []
    for minor in PYTHON_VERSIONS:
        builds = []
        for candidate in (root / "versions").glob(f"{minor}.*"):
            match = re.fullmatch(rf"{re.escape(minor)}\.(\d+)", candidate.name)
            if match and (candidate / "bin" / f"python{minor}").is_file():
                builds.append((int(match[1]), candidate / "bin"))
        if builds:
            dirs.append(max(builds)[1])
    return tuple(dirs)


def subprocess_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The environment for every subprocess; `None` in `extra` removes a variable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _STRIPPED_ENV and not key.startswith("PYTEST_")
    }
    env["PATH"] = os.pathsep.join([*map(str, interpreter_dirs()), env.get("PATH", os.defpath)])
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_NO_PROGRESS"] = "1"
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _missing(reason: str) -> None:
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
        _missing(
            f"no Python {minor} interpreter found (pyenv versions or PATH) and uv may not "
            f"download one: install Python {minor} to test python_version={minor}"
        )


def postgres_params() -> dict[str, str]:
    """host, port, user, password of POSTGRES_URL, for psql."""
    url = urlsplit(POSTGRES_URL)
    return {
        "host": url.hostname or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": url.username or "postgres",
        "password": url.password or "",
    }


def _psql_command(sql: str, database: str) -> tuple[list[str], dict[str, str | None]]:
    params = postgres_params()
    args = [
        shutil.which("psql") or "psql",
        *("-X", "-v", "ON_ERROR_STOP=1", "-tA"),
        *("-h", params["host"], "-p", params["port"], "-U", params["user"]),
        *("-d", database, "-c", sql),
    ]
    return args, {"PGPASSWORD": params["password"] or None, "PGCONNECT_TIMEOUT": "5"}


def psql(sql: str, *, database: str = "postgres") -> str:
    """Run one SQL statement with psql on the test server; return its unaligned output."""
    args, env = _psql_command(sql, database)
    return run(args, cwd=ROOT, env=env, timeout=60).stdout.strip()


@functools.cache
def _postgres_error() -> str | None:
    """None if the test server answers, else psql's error."""
    args, env = _psql_command("SELECT 1", "postgres")
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
        _missing("psql not found: install the PostgreSQL client to test database=postgresql")
    if error := _postgres_error():
        pytest.fail(
            f"PostgreSQL at {POSTGRES_URL} is not reachable ({error}). Start it, point "
            "TEMPLATE_TEST_POSTGRES_URL at one, or deselect the matrix with -m 'not slow'.",
            pytrace=False,
        )


# ---------------------------------------------------------------------------
# Subprocesses
# ---------------------------------------------------------------------------


def tail(output: str | bytes | None, lines: int = OUTPUT_TAIL_LINES) -> str:
    if output is None:
        return ""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    kept = output.splitlines()[-lines:]
    return "\n".join(kept)


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


def copier_cli(
    *args: str | os.PathLike[str], cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`copier` from this environment, as a user runs it (never with --trust)."""
    return run([sys.executable, "-m", "copier", *args], cwd=cwd, check=check, timeout=300)


# ---------------------------------------------------------------------------
# Template snapshot and generation
# ---------------------------------------------------------------------------


def _working_tree_files(root: Path) -> list[Path] | None:
    """Files git would commit with `git add -A` (tracked + untracked, not ignored)."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None
    result = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        return None
    names = {name for name in result.stdout.decode().split("\0") if name}
    return [root / name for name in sorted(names) if (root / name).is_file()]


_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache"
)


def snapshot_template(dst: Path) -> Path:
    """Copy the template's working tree (committed or not) to `dst`, outside git.

    Copier on a git template renders the latest tag, or HEAD plus dirty changes only
    with `vcs_ref="HEAD"`; a plain copy renders exactly what is on disk, the same way
    whatever the state of the repository (even with no commit yet).
    """
    files = _working_tree_files(ROOT)
    if files is None:
        shutil.copytree(ROOT, dst, ignore=_IGNORED, symlinks=True)
        return dst
    for source in files:
        target = dst / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    assert (dst / "copier.yml").is_file(), f"copier.yml missing from the snapshot in {dst}"
    return dst


def generate(template: Path, dst: Path, answers: Mapping[str, str] | None = None) -> Path:
    """Render the template into `dst` with copier's API, as `copier copy --defaults`
    would, with `answers` given as `-d` data; never trusted (`unsafe=False`)."""
    copier.run_copy(
        src_path=str(template),
        dst_path=str(dst),
        data=dict(answers or {}),
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    return dst


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
