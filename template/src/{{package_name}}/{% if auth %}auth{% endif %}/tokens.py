"""Access tokens (JWT, HS256) and opaque refresh token values."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from ..settings import Settings
from .errors import InvalidTokenError

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type"]


def create_access_token(user_id: int, settings: Settings, *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "type": ACCESS_TOKEN_TYPE,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.auth_secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(token: str, settings: Settings) -> int:
    """The user id in a valid, unexpired access token; `InvalidTokenError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError from exc
    subject = claims["sub"]
    if claims["type"] != ACCESS_TOKEN_TYPE or not (subject.isascii() and subject.isdigit()):
        raise InvalidTokenError
    return int(subject)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """SHA-256 suffices: the token is 256 random bits, not a guessable password."""
    return hashlib.sha256(token.encode()).hexdigest()
