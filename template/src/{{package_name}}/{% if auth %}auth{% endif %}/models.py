"""The refresh tokens table."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..core.database import Base, UTCDateTime
from ..core.timestamps import utcnow

TOKEN_HASH_LENGTH = 64
"""The length of a SHA-256 in hexadecimal."""
FAMILY_ID_LENGTH = 32


class RefreshToken(Base):
    """An issued refresh token, by the SHA-256 of its value (never the value itself).

    Tokens issued from one login, one replacing the other, share a family.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(FAMILY_ID_LENGTH), index=True)
    """Shared by the tokens rotated from one login: reusing one revokes them all."""
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When it was exchanged for a new pair; presenting it again is a reuse."""
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When it stopped working: a logout, a reuse, or the user signed out everywhere."""
