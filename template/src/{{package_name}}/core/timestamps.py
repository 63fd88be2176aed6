"""When a row was created and last changed: columns every table of the domains shares."""

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from .database import UTCDateTime


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _created_at(context: DefaultExecutionContext) -> datetime:
    """On insert, `updated_at` equals `created_at` (computed just before it)."""
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    created_at: datetime = parameters["created_at"]
    return created_at


class Timestamped:
    """Mixin for a mapped class: `created_at` set on insert, `updated_at` on every update.

    Both in UTC; the database's clock fills them for rows inserted with raw SQL.
    """

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    """When the row was inserted."""
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_created_at, server_default=func.now(), onupdate=utcnow
    )
    """When the row last changed; equal to `created_at` until then."""
