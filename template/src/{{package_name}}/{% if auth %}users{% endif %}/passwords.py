"""Password hashing with Argon2 (pwdlib), parameters from the settings.

Argon2 takes tens of milliseconds of CPU by design: it runs in a worker thread (argon2
releases the GIL), not on the event loop, a few at a time.
"""

import asyncio
from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ..settings import Settings

MAX_CONCURRENT_HASHES = 4
"""Hashes a process computes at once; more wait their turn. Each holds
`PASSWORD_HASH_MEMORY_KIB` (64 MiB by default) while it runs, and the default thread pool
would run as many as the machine has CPUs, plus four: 20 on a 16-CPU node, 1.3 GiB, past a
container's memory limit (deploy/kubernetes/base/api.yaml), for a burst of logins that one
client address may send. CPU-bound, they would finish no sooner all at once."""

_T = TypeVar("_T")


class PasswordHasher:
    """Hashes and verifies passwords. Built once per app (see `app.create_app`)."""

    def __init__(self, settings: Settings) -> None:
        """Hash with the Argon2 costs of `settings`."""
        hasher = Argon2Hasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        self._hash = PasswordHash((hasher,))
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_HASHES)

    async def hash(self, password: str) -> str:
        """The hash of `password` to store, salted and with the current parameters."""
        return await self._in_thread(self._hash.hash, password)

    async def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches `hashed`, and a new hash to store, if any.

        The new hash is there when `hashed` was made with other parameters, else `None`.
        """
        return await self._in_thread(self._hash.verify_and_update, password, hashed)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, and match nothing.

        A login with an unknown email then takes as long as one with a wrong password.
        """
        await self._in_thread(self._verify_dummy, password)

    async def _in_thread(self, function: Callable[..., _T], *args: str) -> _T:
        async with self._slots:
            return await asyncio.to_thread(function, *args)

    def _verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash("dummy password, never matched")
