from ..core.errors import ConflictError, NotFoundError


class UserNotFoundError(NotFoundError):
    code = "user_not_found"
    title = "User not found"

    def __init__(self, user_id: int) -> None:
        super().__init__(f"No user with id {user_id}")


class EmailTakenError(ConflictError):
    code = "email_taken"
    title = "Email already registered"

    def __init__(self) -> None:
        super().__init__("A user with this email address already exists")
