"""Alembic driven from tests: on a connection the test owns, or as a command, as users run it."""

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import Connection

from .process_support import start

ALEMBIC_INI = Path(__file__).parent.parent / "alembic.ini"
COMMAND_TIMEOUT = 120.0
"""Seconds for an `alembic` command to import the app and migrate (a loaded machine is slow)."""
_ALEMBIC = 'import runpy; runpy.run_module("alembic", run_name="__main__", alter_sys=True)'
"""`python -m alembic`."""


def alembic_config(connection: Connection) -> Config:
    """Config whose `env.py` runs on `connection` instead of opening its own engine."""
    config = Config(ALEMBIC_INI)
    config.attributes["connection"] = connection
    return config


async def run_alembic(
    *arguments: str, environment: Mapping[str, str | None], directory: Path
) -> str:
    """Run `alembic <arguments>` in a process of its own; what it wrote to stderr (its log).

    As `python -m alembic` runs it, forked from the tests' fork server (`process_support`). The
    process has the test's environment changed by `environment` (`None`: unset), and runs in
    `directory`, where there is no `.env`. Fails the test if the command fails.
    """
    env = dict(os.environ)
    for name, value in environment.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    process = await start(
        _ALEMBIC, "-c", str(ALEMBIC_INI), *arguments, environment=env, directory=directory
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), COMMAND_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    log = stderr.decode(errors="replace")
    assert process.returncode == 0, f"alembic {' '.join(arguments)} failed:\n{log[-3000:]}"
    return log
