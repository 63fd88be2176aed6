"""Authentication use cases: log in, refresh, log out, and sign a user out everywhere.

Also who an access token belongs to. Knows nothing of HTTP; only flushes (the caller owns
the transaction), but for `login`, which runs its own.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..core.database import transaction
from ..settings import Settings
from ..users import repository as users_repository
from ..users.models import EMAIL_MAX_LENGTH, User, new_security_stamp
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


async def login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    hasher: PasswordHasher,
    email: str,
    password: str,
) -> TokenPair:
    """A token pair for the active user with this email and password.

    Unlike the other use cases, it runs its own transactions, and none while the password is
    checked: Argon2 takes tens of milliseconds, during which a transaction would hold one of
    the pool's few connections (and on SQLite the write lock), so that a burst of logins would
    stall every other request. One transaction reads the account; the second, once the
    password is right, finds it unchanged meanwhile (no new password, no deactivation),
    stores the hash again if its parameters changed, and issues the tokens.
    """
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidCredentialsError
    async with transaction(sessionmaker, read_only=True) as session:
        user = await _account(session, email)
    if user is None:
        # As long as a wrong password takes.
        await hasher.verify_dummy(password)
        raise InvalidCredentialsError
    new_hash = await _check_password(hasher, user, password)
    async with transaction(sessionmaker) as session:
        current = await users_repository.get_locked(session, user.id)
        stamp = user.security_stamp
        if current is None or current.security_stamp != stamp or not current.is_active:
            # Changed while the password was being checked: a new password, a deactivation.
            raise InvalidCredentialsError
        if new_hash is not None:
            current.hashed_password = new_hash
        return await issue_tokens(session, settings, current)


async def _account(session: AsyncSession, email: str) -> User | None:
    email = email.lower()
    # No stored email is longer or holds a NUL (which PostgreSQL refuses in a query).
    if len(email) > EMAIL_MAX_LENGTH or "\x00" in email:
        return None
    return await users_repository.get_by_email(session, email)


async def _check_password(hasher: PasswordHasher, user: User, password: str) -> str | None:
    """The hash to store instead of `user`'s (`None` to keep it), if the password is theirs.

    Says whether the account is active only to whoever knows its password.
    """
    valid, new_hash = await hasher.verify_and_update(password, user.hashed_password)
    if not valid:
        raise InvalidCredentialsError
    if not user.is_active:
        raise InactiveUserError
    return new_hash


async def issue_tokens(
    session: AsyncSession, settings: Settings, user: User, *, family_id: str | None = None
) -> TokenPair:
    """A new access token and a new refresh token, in `family_id` or a new family.

    The caller has read `user` with `users.repository.get_locked`: a concurrent change that
    revokes the user's tokens then also revokes this one.
    """
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
        access_token=tokens.create_access_token(user.id, user.security_stamp, settings, now=now),
        refresh_token=refresh_token,
        expires_in=settings.access_token_minutes * 60,
    )


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> TokenPair:
    """Exchange a refresh token for a new pair (rotation).

    Presenting a used token revokes its family and raises `RefreshTokenReusedError`, whose
    transaction is still committed (see `core.database.CommitBeforeRaising`).
    """
    now = datetime.now(UTC)
    token_hash = tokens.hash_refresh_token(refresh_token)
    found = await repository.get_by_hash(session, token_hash, lock=False)
    if found is None:
        raise InvalidRefreshTokenError
    # The user's row first, then the token's: the order in which `revoke_sessions` writes
    # them, so that the two wait for each other instead of deadlocking or missing a token.
    user = await users_repository.get_locked(session, found.user_id)
    stored = await _usable_token(session, token_hash, now)
    if stored.used_at is not None:
        await repository.revoke_family(session, stored.family_id, now)
        await session.flush()
        raise RefreshTokenReusedError
    if user is None or not user.is_active:
        raise InvalidRefreshTokenError
    stored.used_at = now
    return await issue_tokens(session, settings, user, family_id=stored.family_id)


async def logout(session: AsyncSession, refresh_token: str) -> None:
    """Revoke the family of `refresh_token`: it and every token rotated from its login.

    They all stop working. Logging out twice is not an error.
    """
    stored = await repository.get_by_hash(session, tokens.hash_refresh_token(refresh_token))
    if stored is None:
        raise InvalidRefreshTokenError
    await repository.revoke_family(session, stored.family_id, datetime.now(UTC))
    await session.flush()


async def revoke_sessions(session: AsyncSession, user: User) -> None:
    """Sign the user out everywhere: refuse their access tokens, revoke their refresh tokens.

    A new security stamp refuses every access token issued before. For the changes that
    alter what the tokens vouch for (password, email, activation, privileges), in their
    transaction, once the user's row is written.
    """
    user.security_stamp = new_security_stamp()
    await repository.revoke_for_user(session, user.id, datetime.now(UTC))
    await session.flush()


async def user_for_access_token(session: AsyncSession, settings: Settings, token: str) -> User:
    """The active user an access token was issued to, if nothing revoked it since."""
    claims = tokens.decode_access_token(token, settings)
    user = await users_repository.get(session, claims.user_id)
    if user is None or user.security_stamp != claims.security_stamp:
        raise InvalidTokenError
    if not user.is_active:
        raise InactiveUserError
    return user


async def _usable_token(session: AsyncSession, token_hash: str, now: datetime) -> RefreshToken:
    stored = await repository.get_by_hash(session, token_hash)
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidRefreshTokenError
    return stored
