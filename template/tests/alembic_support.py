"""Alembic driven from tests, on a connection the test owns."""

from pathlib import Path

from alembic.config import Config
from sqlalchemy.engine import Connection

ALEMBIC_INI = Path(__file__).parent.parent / "alembic.ini"


def alembic_config(connection: Connection) -> Config:
    """Config whose `env.py` runs on `connection` instead of opening its own engine."""
    config = Config(ALEMBIC_INI)
    config.attributes["connection"] = connection
    return config
