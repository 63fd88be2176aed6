import secrets

from sqlalchemy import Boolean, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from ..core.database import Base
from ..core.timestamps import Timestamped

EMAIL_MAX_LENGTH = 254
SECURITY_STAMP_LENGTH = 32
MAX_USER_ID = 2**31 - 1
"""The largest id the `id` column holds on every database (PostgreSQL's `integer`)."""


def new_security_stamp() -> str:
    """A random value that changes whenever the account's tokens must stop working."""
    return secrets.token_hex(SECURITY_STAMP_LENGTH // 2)


class User(Timestamped, Base):
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
