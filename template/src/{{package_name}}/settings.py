"""Configuration, read from the environment and `.env` (see `.env.example`)."""

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .defaults import DEFAULT_DATABASE_URL

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    """Every setting is an environment variable of the same name in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    debug: bool = False

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    database_echo: bool = False
    database_pool_size: int = Field(default=5, ge=1)
    health_timeout_seconds: float = Field(default=2.0, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool | None = None
    """JSON log lines; `None` chooses by the terminal: JSON unless stderr is a TTY."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _supported_database_url(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except ArgumentError:
            msg = "DATABASE_URL is not a valid database URL"
            raise ValueError(msg) from None
        if url.drivername not in SUPPORTED_DRIVERS:
            msg = (
                f"DATABASE_URL uses driver {url.drivername!r}; "
                f"use one of the async drivers: {', '.join(SUPPORTED_DRIVERS)}"
            )
            raise ValueError(msg)
        return value
