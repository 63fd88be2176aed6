"""What the users API accepts and returns."""

from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from ..core.pagination import Page
from .models import EMAIL_MAX_LENGTH

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

# A plain ASCII address: every database stores it, and lower-casing keeps its length.
_EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
_EMAIL_SCHEMA = {"type": "string", "maxLength": EMAIL_MAX_LENGTH, "pattern": _EMAIL_PATTERN}
_PASSWORD_SCHEMA = {
    "type": "string",
    "minLength": PASSWORD_MIN_LENGTH,
    "maxLength": PASSWORD_MAX_LENGTH,
}

Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH, pattern=_EMAIL_PATTERN),
    AfterValidator(str.lower),
]
"""An email address, stored in lower case: addresses compare case-insensitively."""
Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]
"""A new password; only its hash is stored."""


class UserCreate(BaseModel):
    """A new account: its email and password."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    email: Email
    """The address to log in with; no other account may have it."""
    password: Password
    """The password to log in with."""


class _AccountChange(BaseModel):
    """Partial update of an account: only the fields present change."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    # Optional but not nullable: they can change, not be removed.
    email: Annotated[Email | None, WithJsonSchema(_EMAIL_SCHEMA)] = None
    """The new email address; no other account may have it."""
    password: Annotated[Password | None, WithJsonSchema(_PASSWORD_SCHEMA)] = None
    """The new password."""

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        for field in ("email", "password"):
            if field in self.model_fields_set and getattr(self, field) is None:
                msg = f"{field} can be changed but not removed"
                raise ValueError(msg)
        return self


class UserUpdateMe(_AccountChange):
    """A change of one's own email or password, confirmed by the current password."""

    current_password: Annotated[
        str | None,
        Field(max_length=PASSWORD_MAX_LENGTH),
        WithJsonSchema({"type": "string", "maxLength": PASSWORD_MAX_LENGTH}),
    ] = None
    """The account's password: required to change the email or the password."""

    @property
    def changes_credentials(self) -> bool:
        """Whether the email or the password changes (then the current password is checked)."""
        return bool(self.model_fields_set & {"email", "password"})


class UserUpdate(_AccountChange):
    """What a superuser may change in any account, without its password."""

    is_active: Annotated[bool | None, WithJsonSchema({"type": "boolean"})] = None
    """Whether the account may log in and use its tokens."""
    is_superuser: Annotated[bool | None, WithJsonSchema({"type": "boolean"})] = None
    """Whether the account may administer users and see everyone's items."""

    @model_validator(mode="after")
    def _flags_not_null(self) -> Self:
        for field in ("is_active", "is_superuser"):
            if field in self.model_fields_set and getattr(self, field) is None:
                msg = f"{field} can be changed but not removed"
                raise ValueError(msg)
        return self


class UserRead(BaseModel):
    """An account as the API shows it: never its password or hash."""

    model_config = ConfigDict(from_attributes=True, use_attribute_docstrings=True)

    id: int
    """The account's id."""
    email: str
    """The address to log in with, in lower case."""
    is_active: bool
    """Whether the account may log in and use its tokens."""
    is_superuser: bool
    """Whether the account may administer users and see everyone's items."""
    created_at: datetime
    """When the account was created."""
    updated_at: datetime
    """When the account last changed."""


class UserPage(Page[UserRead]):
    """A page of users, oldest first."""
