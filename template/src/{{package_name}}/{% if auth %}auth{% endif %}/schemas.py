"""What the authentication API accepts and returns (the login form is OAuth2's)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Refresh tokens are 43 URL-safe characters; anything much longer is not one.
RefreshTokenValue = Annotated[str, Field(min_length=1, max_length=128)]
"""A refresh token, as `TokenPair.refresh_token` gave it."""


class TokenPair(BaseModel):
    """The tokens a login or a refresh issues (an OAuth2 token response)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    access_token: str
    """Proves who you are: send it as `Authorization: Bearer <access_token>`."""
    refresh_token: str
    """Exchanged once for a new pair (the `refresh` operation), before it expires."""
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - not a secret
    """How to send the access token: always `bearer`."""
    expires_in: int
    """Seconds until the access token expires."""


class RefreshRequest(BaseModel):
    """A refresh token to exchange for a new pair, or to revoke."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    refresh_token: RefreshTokenValue
    """The refresh token of the latest pair."""


class LoginForm(BaseModel):
    """The OAuth2 password grant, sent as a form: the account's email and password."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    grant_type: str | None = Field(default=None, pattern="^password$")
    """The OAuth2 grant: `password` when sent."""
    username: str
    """The account's email address (OAuth2 calls it the username)."""
    password: str
    """The account's password."""
    scope: str = ""
    """Space-separated OAuth2 scopes; this service grants none, so it is ignored."""
    client_id: str | None = None
    """The OAuth2 client's id; ignored (every client is public)."""
    client_secret: str | None = None
    """The OAuth2 client's secret; ignored (every client is public)."""
