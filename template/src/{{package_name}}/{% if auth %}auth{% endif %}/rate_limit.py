"""Login attempts, limited per account and per client address (in memory, per process)."""

import math
import time

import limits
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from ..settings import Settings
from .errors import TooManyLoginAttemptsError


class LoginRateLimiter:
    """Counts every login attempt, successful or not, in a moving window. Built by the
    app's lifespan, so each app (and each test) starts with no attempts counted.

    The counts live in the process: with several workers or replicas, each counts on
    its own (use a shared `limits` storage, e.g. Redis, to count across them)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_account = limits.parse(settings.login_rate_limit)
        self._per_address = limits.parse(settings.login_rate_limit_per_address)

    async def hit(self, *, email: str, address: str) -> None:
        """Count an attempt; `TooManyLoginAttemptsError` if either limit is exceeded."""
        checks = (
            (self._per_address, ("login", "address", address)),
            (self._per_account, ("login", "account", email.lower())),
        )
        for item, identifiers in checks:
            if not await self._limiter.hit(item, *identifiers):
                stats = await self._limiter.get_window_stats(item, *identifiers)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyLoginAttemptsError(retry_after)
