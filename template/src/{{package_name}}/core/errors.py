"""The application's error hierarchy. Domains subclass these; `problems` renders them."""

from collections.abc import Mapping
from typing import ClassVar


class AppError(Exception):
    """An error with a meaning for the client: an HTTP status and a stable code.
    `headers` are added to the response (e.g. `WWW-Authenticate`, `Retry-After`)."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"
    headers: Mapping[str, str] | None = None

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"
    title = "Resource not found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict with the current state"


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"


class DatabaseUnavailableError(ServiceUnavailableError):
    code = "database_unavailable"
    title = "Database unavailable"
