import secrets
from datetime import UTC, datetime

from sqlalchemy import Boolean, String, false, func, true
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from ..core.database import Base, UTCDateTime

EMAIL_MAX_LENGTH = 254
SECURITY_STAMP_LENGTH = 32
MAX_USER_ID = 2**31 - 1
"""The largest id the `id` column holds on every database (PostgreSQL's `integer`)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def new_security_stamp() -> str:
    """A random value that changes whenever the account's tokens must stop working."""
    return secrets.token_hex(SECURITY_STAMP_LENGTH // 2)


def _created_at(context: DefaultExecutionContext) -> datetime:
    """On insert, `updated_at` equals `created_at` (computed just before it)."""
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]
    created_at: datetime = parameters["created_at"]
    return created_at


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    """Stored in lower case: addresses compare case-insensitively."""
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    security_stamp: Mapped[str] = mapped_column(
        String(SECURITY_STAMP_LENGTH), default=new_security_stamp
    )
    """Carried by every access token; a new one (password, email, activation or privilege
    change) refuses the tokens issued before. A new account has its own, so a token never
    passes for another account that later gets the same id."""
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=_created_at, server_default=func.now(), onupdate=_utcnow
    )
