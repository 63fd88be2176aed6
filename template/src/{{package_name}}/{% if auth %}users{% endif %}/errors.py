"""The errors of the users domain, as the API reports them."""

from ..core.errors import ConflictError, NotFoundError


class UserNotFoundError(NotFoundError):
    """404: no user has this id."""

    code = "user_not_found"
    title = "User not found"

    def __init__(self, user_id: int) -> None:
        """Say which id was looked for."""
        super().__init__(f"No user with id {user_id}")


class EmailTakenError(ConflictError):
    """409: another account already has this email address."""

    code = "email_taken"
    title = "Email already registered"

    def __init__(self) -> None:
        """Say so, without repeating the address."""
        super().__init__("A user with this email address already exists")
