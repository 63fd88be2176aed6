from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Refresh tokens are 43 URL-safe characters; anything much longer is not one.
RefreshTokenValue = Annotated[str, Field(min_length=1, max_length=128)]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - not a secret
    expires_in: int
    """Seconds until the access token expires."""


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: RefreshTokenValue
