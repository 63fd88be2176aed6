"""Authentication use cases: log in, refresh, log out, and who a token belongs to.
Knows nothing of HTTP; only flushes (the caller owns the transaction)."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ..settings import Settings
from ..users import repository as users_repository
from ..users.models import EMAIL_MAX_LENGTH, User
from ..users.passwords import PasswordHasher
from ..users.schemas import PASSWORD_MAX_LENGTH
from . import repository, tokens
from .errors import (
    InactiveUserError,
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidTokenError,
    RefreshTokenReusedError,
)
from .models import RefreshToken
from .schemas import TokenPair


async def authenticate(
    session: AsyncSession, hasher: PasswordHasher, email: str, password: str
) -> User:
    """The active user with this email and password. Takes as long for an unknown
    email as for a wrong password, and upgrades the stored hash when its parameters
    are not the current ones."""
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidCredentialsError
    email = email.lower()
    # No stored email is longer or holds a NUL (which PostgreSQL refuses in a query).
    storable = len(email) <= EMAIL_MAX_LENGTH and "\x00" not in email
    user = await users_repository.get_by_email(session, email) if storable else None
    if user is None:
        await hasher.verify_dummy(password)
        raise InvalidCredentialsError
    valid, new_hash = await hasher.verify_and_update(password, user.hashed_password)
    if not valid:
        raise InvalidCredentialsError
    if not user.is_active:
        raise InactiveUserError
    if new_hash is not None:
        user.hashed_password = new_hash
        await session.flush()
    return user


async def issue_tokens(
    session: AsyncSession, settings: Settings, user: User, *, family_id: str | None = None
) -> TokenPair:
    """A new access token and a new refresh token, in `family_id` or a new family."""
    now = datetime.now(UTC)
    refresh_token = tokens.new_refresh_token()
    session.add(
        RefreshToken(
            token_hash=tokens.hash_refresh_token(refresh_token),
            user_id=user.id,
            family_id=family_id or uuid.uuid4().hex,
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return TokenPair(
        access_token=tokens.create_access_token(user.id, settings, now=now),
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
    )


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair (rotation). Presenting a used token
    revokes its family and raises `RefreshTokenReusedError`: the caller must commit
    before answering, or the revocation is rolled back."""
    now = datetime.now(UTC)
    stored = await _usable_token(session, refresh_token, now)
    if stored.used_at is not None:
        await repository.revoke_family(session, stored.family_id, now)
        await session.flush()
        raise RefreshTokenReusedError
    user = await users_repository.get(session, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshTokenError
    stored.used_at = now
    return await issue_tokens(session, settings, user, family_id=stored.family_id)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """Revoke the family of `refresh_token`: it and every token rotated from the same
    login stop working. Logging out twice is not an error."""
    stored = await repository.get_by_hash(session, tokens.hash_refresh_token(refresh_token))
    if stored is None:
        raise InvalidRefreshTokenError
    await repository.revoke_family(session, stored.family_id, datetime.now(UTC))
    await session.flush()


async def user_for_access_token(session: AsyncSession, settings: Settings, token: str) -> User:
    """The active user an access token was issued to."""
    user = await users_repository.get(session, tokens.decode_access_token(token, settings))
    if user is None:
        raise InvalidTokenError
    if not user.is_active:
        raise InactiveUserError
    return user


async def _usable_token(session: AsyncSession, refresh_token: str, now: datetime) -> RefreshToken:
    stored = await repository.get_by_hash(session, tokens.hash_refresh_token(refresh_token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidRefreshTokenError
    return stored
