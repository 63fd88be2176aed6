from datetime import UTC, datetime

from sqlalchemy import String, Text, func
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, UTCDateTime

NAME_MAX_LENGTH = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at(context: DefaultExecutionContext) -> datetime:
    """On insert, `updated_at` equals `created_at` (computed just before it)."""
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    created_at: datetime = parameters["created_at"]
    return created_at


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_created_at, server_default=func.now(), onupdate=_utcnow
    )
