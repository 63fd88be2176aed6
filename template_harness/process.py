"""Subprocesses of generated projects: their environment and the end of their output.

Every tool of a generated project runs with `subprocess_env()`: the interpreters of the
offered Python versions first on PATH (uv does not see through pyenv shims) and
`UV_PYTHON_DOWNLOADS=never`, so uv uses what is installed and never downloads one.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

PYTHON_VERSIONS = ("3.13", "3.12", "3.11")
"""The python_version choices of copier.yml, newest first."""

OUTPUT_TAIL_LINES = 80
"""How much of a failed command's output `tail` keeps by default."""

STRIPPED_ENV = (
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
    "PYTHONDONTWRITEBYTECODE",
)
"""Variables from the caller's shell that would leak into a generated project's tools.

PYTHONDONTWRITEBYTECODE among them (set on some machines and CI images): without cached
bytecode every process a generated project's tests start (alembic, the served app) compiles
its 600 modules again, about 4 s each on a small machine."""


def _pyenv_root() -> Path | None:
    """The pyenv root ($PYENV_ROOT, `pyenv root` or ~/.pyenv), or None without pyenv."""
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
        if key not in STRIPPED_ENV and not key.startswith("PYTEST_")
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


def tail(output: str | bytes | None, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last `lines` lines of a command's output (bytes decoded, None as empty)."""
    if output is None:
        return ""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    return "\n".join(output.splitlines()[-lines:])
