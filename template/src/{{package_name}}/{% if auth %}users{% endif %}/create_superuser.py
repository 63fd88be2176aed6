"""Create a superuser: `uv run python -m <package>.users.create_superuser --email ...`.

The password comes from the `SUPERUSER_PASSWORD` environment variable, or is asked for
when the terminal is interactive. The database is the one in `DATABASE_URL`.
"""

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import ValidationError

from ..core.database import create_engine, create_sessionmaker
from ..settings import Settings
from . import service
from .errors import EmailTakenError
from .passwords import PasswordHasher
from .schemas import UserCreate

PASSWORD_VARIABLE = "SUPERUSER_PASSWORD"  # noqa: S105 - a variable name, not a secret


async def create_superuser(settings: Settings, data: UserCreate) -> int:
    """Create the superuser in its own transaction; its id."""
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            user = await service.create_user(
                session, PasswordHasher(settings), data, is_superuser=True
            )
            return user.id
    finally:
        await engine.dispose()


def _password() -> str | None:
    """The password from the environment, else from the terminal; `None` without either."""
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command with `argv` (default: the command line); its exit status."""
    parser = argparse.ArgumentParser(description="Create a superuser.")
    parser.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    password = _password()
    if password is None:
        print(f"Set {PASSWORD_VARIABLE}, or run this in a terminal to be asked.", file=sys.stderr)  # noqa: T201
        return 2
    try:
        data = UserCreate(email=args.email, password=password)
    except ValidationError as exc:
        print(f"Invalid email or password:\n{exc}", file=sys.stderr)  # noqa: T201
        return 2
    try:
        user_id = asyncio.run(create_superuser(Settings(), data))
    except EmailTakenError:
        print(f"A user with the email {data.email} already exists.", file=sys.stderr)  # noqa: T201
        return 1
    print(f"Created superuser {data.email} (id {user_id}).")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
