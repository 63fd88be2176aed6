from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from .models import NAME_MAX_LENGTH

DESCRIPTION_MAX_LENGTH = 10_000

# Text any database stores (no NUL character); a name also needs a visible character.
_NAME_PATTERN = r"^[^\x00]*[^\x00\t\n\r ][^\x00]*$"
_TEXT_PATTERN = r"^[^\x00]*$"

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH, pattern=_NAME_PATTERN)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=_TEXT_PATTERN)]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None


class ItemUpdate(BaseModel):
    """Partial update: only the fields present in the request body change."""

    model_config = ConfigDict(extra="forbid")

    # Optional but not nullable: the name can change, not be removed.
    name: Annotated[
        Name | None,
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": NAME_MAX_LENGTH,
                "pattern": _NAME_PATTERN,
            }
        ),
    ] = None
    description: Description | None = None

    @model_validator(mode="after")
    def _name_not_null(self) -> Self:
        if "name" in self.model_fields_set and self.name is None:
            msg = "name can be changed but not removed"
            raise ValueError(msg)
        return self


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int
