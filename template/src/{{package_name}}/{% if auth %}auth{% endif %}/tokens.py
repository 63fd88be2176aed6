"""Access tokens (JWT, HS256), the key that signs them, and opaque refresh token values."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import jwt
import structlog

from ..core.pagination import MAX_INT32
from ..settings import Settings
from .errors import InvalidTokenError
from .settings import DEV_AUTH_SECRET_KEY

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "type", "stamp"]
_EXPLICIT_DEVELOPMENT = ("development", "test")

logger = structlog.stdlib.get_logger(__name__)


class AccessToken(NamedTuple):
    """What a valid access token says: whose it is, and under which security stamp."""

    user_id: int
    security_stamp: str


class PublicSigningKeyError(RuntimeError):
    """The server would sign tokens with the development key, which is public."""


def check_signing_key(settings: Settings) -> None:
    """Refuse the public development key, unless in development or tests.

    Anyone can forge tokens signed with it, a superuser's included, so it is refused unless
    `ENVIRONMENT` is explicitly `development` or `test`: a deployment that forgot both
    `ENVIRONMENT` and `AUTH_SECRET_KEY` must not start.
    """
    if settings.auth_secret_key.get_secret_value() != DEV_AUTH_SECRET_KEY:
        return
    explicit = "environment" in settings.model_fields_set
    if not explicit or settings.environment not in _EXPLICIT_DEVELOPMENT:
        msg = (
            "AUTH_SECRET_KEY is not set, and the development key that would sign the access "
            "tokens is public: set AUTH_SECRET_KEY to at least 32 random characters (e.g. "
            "`openssl rand -hex 32`), or, on a development machine, ENVIRONMENT=development"
        )
        raise PublicSigningKeyError(msg)
    if settings.environment == "development":
        logger.warning(
            "auth_development_key",
            detail="access tokens are signed with the public development key: "
            "anyone can forge them; set AUTH_SECRET_KEY anywhere but on your machine",
        )


def create_access_token(
    user_id: int, security_stamp: str, settings: Settings, *, now: datetime | None = None
) -> str:
    """A signed access token for the user, valid while their security stamp is unchanged."""
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "stamp": security_stamp,
        "type": ACCESS_TOKEN_TYPE,
        "iat": now,
        "exp": now + timedelta(minutes=settings.access_token_minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.auth_secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(token: str, settings: Settings) -> AccessToken:
    """The claims of a valid, unexpired access token; `InvalidTokenError` otherwise.

    Also for a subject that is not a user id (a canonical integer the id column holds).
    """
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidTokenError from exc
    user_id = _user_id(claims["sub"])
    stamp = claims["stamp"]
    if claims["type"] != ACCESS_TOKEN_TYPE or user_id is None or not isinstance(stamp, str):
        raise InvalidTokenError
    return AccessToken(user_id, stamp)


def _user_id(subject: object) -> int | None:
    """The id in `subject` if it is one, written as `create_access_token` writes it."""
    max_digits = len(str(MAX_INT32))
    if not isinstance(subject, str) or not 0 < len(subject) <= max_digits:
        return None
    if not (subject.isascii() and subject.isdigit()) or subject.startswith("0"):
        return None
    user_id = int(subject)
    return user_id if user_id <= MAX_INT32 else None


def new_refresh_token() -> str:
    """A new refresh token value: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """SHA-256 suffices: the token is 256 random bits, not a guessable password."""
    return hashlib.sha256(token.encode()).hexdigest()
