"""Password hashing with Argon2 (pwdlib), parameters from the settings.

Argon2 takes tens of milliseconds of CPU and `PASSWORD_HASH_MEMORY_KIB` (64 MiB by default) by
design. It runs on threads of the hasher's own (argon2 releases the GIL), never on the event
loop, and `PASSWORD_HASH_CONCURRENCY` at a time: a burst of logins waits in line instead of
holding 64 MiB each, and a login whose client has gone is dropped from the line, not hashed.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ..settings import Settings

_T = TypeVar("_T")


class PasswordHasher:
    """Hashes and verifies passwords. Built once per app (see `auth.feature`).

    Its threads stop with `close`, or once it is garbage-collected.
    """

    def __init__(self, settings: Settings) -> None:
        """Hash with the Argon2 costs of `settings`, `password_hash_concurrency` at a time."""
        hasher = Argon2Hasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        self._hash = PasswordHash((hasher,))
        # Not the loop's default pool (a thread per CPU and four more): with a semaphore in
        # front of it, a request cancelled mid-hash would free its slot while its thread kept
        # hashing, so a client that disconnects at once could run any number of hashes.
        self._threads = ThreadPoolExecutor(
            max_workers=settings.password_hash_concurrency, thread_name_prefix="argon2"
        )

    def close(self) -> None:
        """Stop the threads once the hashes running finish; drop the ones waiting."""
        self._threads.shutdown(wait=False, cancel_futures=True)

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
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def _verify_dummy(self, password: str) -> None:
        self._hash.verify(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash("dummy password, never matched")
