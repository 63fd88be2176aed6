"""The settings every service has: the environment, HTTP, logging and the database.

Each feature adds its own class; `settings.Settings` combines them.
"""

from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .defaults import DEFAULT_DATABASE_URL

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class FeatureSettings(BaseSettings):
    """Base of each feature's settings.

    Its fields are environment variables of the same name in upper case.
    """

    def production_problems(self) -> list[str]:
        """What keeps these settings from being used with `ENVIRONMENT=production`.

        A feature adds its own to those of the classes after it.
        """
        return []


class CoreSettings(FeatureSettings):
    """The environment, HTTP and logging."""

    environment: Literal["development", "test", "production"] = "development"
    """Unset, the app runs as in development; a feature may still refuse a development
    default unless `ENVIRONMENT` says `development` or `test` explicitly."""
    debug: bool = False
    health_timeout_seconds: float = Field(default=2.0, gt=0)

    docs_enabled: bool | None = None
    """Serve /docs, /redoc and /openapi.json; `None`: everywhere but in production."""
    cors_origins: Annotated[list[str], NoDecode] = []
    """Origins allowed to call the API from a browser: a comma-separated list, or `*`."""
    cors_allow_credentials: bool = False
    max_request_body_bytes: int = Field(default=1_048_576, ge=1)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool | None = None
    """JSON log lines; `None` chooses by the terminal: JSON unless stderr is a TTY."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _safe_combination(self) -> Self:
        if "*" in self.cors_origins and self.cors_allow_credentials:
            msg = (
                "CORS_ORIGINS='*' with CORS_ALLOW_CREDENTIALS=true would let any site act "
                "with your users' credentials: list the allowed origins instead"
            )
            raise ValueError(msg)
        if self.environment == "production" and (problems := self.production_problems()):
            msg = "refusing to start with ENVIRONMENT=production: " + "; ".join(problems)
            raise ValueError(msg)
        return self

    def production_problems(self) -> list[str]:
        """Debug mode is off in production."""
        problems = ["DEBUG must be off (it exposes internals in error pages)"] if self.debug else []
        return [*problems, *super().production_problems()]

    @property
    def serve_docs(self) -> bool:
        """Whether to serve the API docs: as configured, else all but in production."""
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment != "production"


class DatabaseSettings(FeatureSettings):
    """The database the service stores its data in, and how it connects."""

    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    """The service's connection; with `migration_database_url` set, a role that may read and
    write rows but not change the schema."""
    migration_database_url: SecretStr | None = None
    """The connection migrations run with, as the schema's owner; unset or empty:
    `DATABASE_URL`."""
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1)
    """Connections a process keeps open (PostgreSQL)."""
    database_max_overflow: int = Field(default=0, ge=0)
    """Connections a process may open beyond `database_pool_size` under load, closed once
    returned. A process opens at most `database_pool_size` + `database_max_overflow`: size the
    database's `max_connections` with that (README: "Scaling out")."""
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    """Also the longest wait for a free connection from the pool."""
    database_statement_timeout_seconds: float = Field(default=10.0, gt=0)
    """PostgreSQL cancels a statement that runs longer (SQLite: how long to wait for a lock)."""

    @field_validator("migration_database_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _supported_database_url(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None:
            return value
        name = str(info.field_name).upper()
        try:
            url = make_url(value.get_secret_value())
        except (ArgumentError, ValueError):  # The parser's messages quote parts of the URL.
            msg = (
                f"{name} is not a valid database URL "
                "(special characters in the password must be percent-encoded)"
            )
            raise ValueError(msg) from None
        if url.drivername not in SUPPORTED_DRIVERS:
            msg = (
                f"{name} uses driver {url.drivername!r}; "
                f"use one of the async drivers: {', '.join(SUPPORTED_DRIVERS)}"
            )
            raise ValueError(msg)
        return value

    def for_migrations(self) -> Self:
        """These settings, with the URL migrations connect with as `database_url`."""
        if self.migration_database_url is None:
            return self
        return self.model_copy(update={"database_url": self.migration_database_url})

    def production_problems(self) -> list[str]:
        """The built-in database URL is for development only."""
        problems = []
        if self.database_url.get_secret_value() == DEFAULT_DATABASE_URL:
            problems.append(
                "DATABASE_URL must be set: the built-in default is for development only"
            )
        return [*problems, *super().production_problems()]
