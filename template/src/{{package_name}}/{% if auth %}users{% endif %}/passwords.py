"""Password hashing with Argon2 (pwdlib), parameters from the settings."""

from functools import cached_property

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ..settings import Settings


class PasswordHasher:
    """Hashes and verifies passwords. Built once per app (see `app.create_app`)."""

    def __init__(self, settings: Settings) -> None:
        hasher = Argon2Hasher(
            time_cost=settings.password_hash_time_cost,
            memory_cost=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
        )
        self._hash = PasswordHash((hasher,))

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify_and_update(self, password: str, hashed: str) -> tuple[bool, str | None]:
        """Whether `password` matches `hashed`, and a new hash when `hashed` was made
        with other parameters (store it), else `None`."""
        return self._hash.verify_and_update(password, hashed)

    def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, so that a login with an unknown
        email takes as long as one with a wrong password."""
        self._hash.verify(password, self._dummy_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hash.hash("dummy password, never matched")
