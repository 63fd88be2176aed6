"""Authentication's settings.

The token signing key and lifetimes, the login rate limits and the password hashing parameters.
"""

import limits
from pydantic import Field, SecretStr, field_validator

from ..core.settings import FeatureSettings

DEV_AUTH_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"  # noqa: S105
MIN_AUTH_SECRET_LENGTH = 32


class AuthSettings(FeatureSettings):
    """How tokens are signed, logins limited and passwords hashed."""

    auth_secret_key: SecretStr = SecretStr(DEV_AUTH_SECRET_KEY)
    """Signs access tokens (HS256): at least 32 random characters in production. The public
    development default is refused unless `ENVIRONMENT` is set to `development` or `test`
    (see `auth.tokens.check_signing_key`)."""
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=14, ge=1)
    login_rate_limit: str = "5/minute"
    """Login attempts per account (email) from one client address, in the `limits`
    notation: `5/minute`, `20/hour`."""
    login_rate_limit_per_address: str = "20/minute"
    """Login attempts per client address, whatever the accounts."""
    login_rate_limit_per_account: str = "100/hour"
    """Login attempts per account from all the addresses it has not logged in from
    successfully lately (see `auth.rate_limit`), so that an attacker cannot lock the
    owner out. The client address is the server's `request.client.host`: uvicorn takes it
    from `X-Forwarded-For` only when the peer is listed in `FORWARDED_ALLOW_IPS`, a server
    option read from the real environment (not from `.env`)."""
    password_hash_time_cost: int = Field(default=3, ge=1)
    """Argon2 parameters, by default pwdlib's recommended ones. Each stored password is
    rehashed with new values at its user's next login."""
    password_hash_memory_kib: int = Field(default=65_536, ge=8)
    password_hash_parallelism: int = Field(default=4, ge=1)
    password_hash_concurrency: int = Field(default=2, ge=1)
    """Password hashes (logins, sign-ups, password changes) one process computes at once; the
    others wait their turn. Each holds `password_hash_memory_kib` while it runs: size the
    container's memory limit for this many (deploy/kubernetes/base/api.yaml), and keep it near
    the CPUs the process may use, since hashes are CPU-bound and finish no sooner all at once."""

    @field_validator(
        "login_rate_limit", "login_rate_limit_per_address", "login_rate_limit_per_account"
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            msg = f"{value!r} is not a rate limit: use e.g. 5/minute or 100/hour"
            raise ValueError(msg) from None
        return value

    def production_problems(self) -> list[str]:
        """Tokens are signed with a strong key of the deployment's own."""
        problems = []
        secret = self.auth_secret_key.get_secret_value()
        if secret == DEV_AUTH_SECRET_KEY or len(secret) < MIN_AUTH_SECRET_LENGTH:
            problems.append(
                f"AUTH_SECRET_KEY must be set to at least {MIN_AUTH_SECRET_LENGTH} random "
                "characters (e.g. `openssl rand -hex 32`), not the development default"
            )
        return [*problems, *super().production_problems()]
