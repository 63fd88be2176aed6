"""Queries for refresh tokens, and nothing else: no business rules, no HTTP."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import RefreshToken


async def get_by_hash(
    session: AsyncSession, token_hash: str, *, lock: bool = True
) -> RefreshToken | None:
    """The token with this hash, or `None`.

    With `lock`, re-read and its row locked until the transaction ends (PostgreSQL; SQLite
    locks the whole database on write): two concurrent refreshes cannot both rotate it.
    """
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def revoke_family(session: AsyncSession, family_id: str, at: datetime) -> None:
    """Revoke every token of the family that is not revoked yet."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session="fetch")
    )


async def revoke_for_user(session: AsyncSession, user_id: int, at: datetime) -> None:
    """Revoke every refresh token of the user that is not revoked yet."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session="fetch")
    )
