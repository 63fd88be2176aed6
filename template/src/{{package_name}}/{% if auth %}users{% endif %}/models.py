"""The users table."""

import secrets

from sqlalchemy import Boolean, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from ..core.database import Base
from ..core.timestamps import Timestamped

EMAIL_MAX_LENGTH = 254
"""The longest address SMTP allows (RFC 5321)."""
SECURITY_STAMP_LENGTH = 32


def new_security_stamp() -> str:
    """A random value that changes whenever the account's tokens must stop working."""
    return secrets.token_hex(SECURITY_STAMP_LENGTH // 2)


class User(Timestamped, Base):
    """An account: who may log in, and what they may do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    """Stored in lower case: addresses compare case-insensitively."""
    hashed_password: Mapped[str] = mapped_column(String(255))
    """The Argon2 hash of the password (see `passwords`); never the password itself."""
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """An inactive account cannot log in, and its tokens are refused."""
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A superuser administers users and sees everyone's items."""
    security_stamp: Mapped[str] = mapped_column(
        String(SECURITY_STAMP_LENGTH), default=new_security_stamp
    )
    """Carried by every access token: a new one refuses the tokens issued before.

    It changes with the password, the email, the activation or the privileges. A new
    account has its own, so a token never passes for another account that later gets the
    same id.
    """
