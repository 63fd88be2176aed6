"""Password hashing with Argon2 (pwdlib), parameters from the settings.

Argon2 takes tens of milliseconds of CPU by design: it runs in a worker thread (argon2
releases the GIL), not on the event loop.
"""

import asyncio
from functools import cached_property

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ..settings import Settings


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

    async def hash(self, password: str) -> str:
        """The hash of `password` to store, salted and with the current parameters."""
        return await asyncio.to_thread(self._hash.hash, password)

    async def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches `hashed`, and a new hash to store, if any.

        The new hash is there when `hashed` was made with other parameters, else `None`.
        """
        return await asyncio.to_thread(self._hash.verify_and_update, password, hashed)

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, and match nothing.

        A login with an unknown email then takes as long as one with a wrong password.
        """
        await asyncio.to_thread(self._verify_dummy, password)

    def _verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash("dummy password, never matched")
