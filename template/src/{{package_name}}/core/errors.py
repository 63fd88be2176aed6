"""The application's error hierarchy. Domains subclass these; `problems` renders them."""

from collections.abc import Mapping
from typing import ClassVar


class AppError(Exception):
    """An error with a meaning for the client: an HTTP status and a stable code.

    `headers` are added to the response (e.g. `WWW-Authenticate`, `Retry-After`).
    """

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"
    headers: Mapping[str, str] | None = None

    def __init__(self, detail: str | None = None) -> None:
        """Say what went wrong this time in `detail` (default: the `title`)."""
        self.detail = detail or self.title
        super().__init__(self.detail)


class NotFoundError(AppError):
    """404: the resource does not exist (or is not the client's to see)."""

    status_code = 404
    code = "not_found"
    title = "Resource not found"


class ConflictError(AppError):
    """409: the request contradicts what is stored (a name taken, for instance)."""

    status_code = 409
    code = "conflict"
    title = "Conflict with the current state"


class ServiceUnavailableError(AppError):
    """503: a service the request needs is down; retrying later may succeed."""

    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"


class DatabaseUnavailableError(ServiceUnavailableError):
    """503: the database could not be reached, or did not answer in time."""

    code = "database_unavailable"
    title = "Database unavailable"
