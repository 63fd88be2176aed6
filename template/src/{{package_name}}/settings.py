"""Configuration, read from the environment and `.env` (see `.env.example`)."""

from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
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
    database_pool_size: int = Field(default=10, ge=1)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    """Also the longest wait for a free connection from the pool."""
    database_statement_timeout_seconds: float = Field(default=10.0, gt=0)
    """PostgreSQL cancels a statement that runs longer (SQLite: how long to wait for a lock)."""
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

    @model_validator(mode="after")
    def _safe_combination(self) -> Self:
        if "*" in self.cors_origins and self.cors_allow_credentials:
            msg = (
                "CORS_ORIGINS='*' with CORS_ALLOW_CREDENTIALS=true would let any site act "
                "with your users' credentials: list the allowed origins instead"
            )
            raise ValueError(msg)
        if self.environment == "production":
            self._check_production()
        return self

    def _check_production(self) -> None:
        problems = []
        if self.debug:
            problems.append("DEBUG must be off (it exposes internals in error pages)")
        if self.database_url.get_secret_value() == DEFAULT_DATABASE_URL:
            problems.append(
                "DATABASE_URL must be set: the built-in default is for development only"
            )
        if problems:
            msg = "refusing to start with ENVIRONMENT=production: " + "; ".join(problems)
            raise ValueError(msg)

    @property
    def serve_docs(self) -> bool:
        """Whether to serve the API docs: as configured, else all but in production."""
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment != "production"
