"""Login, token refresh and logout routes, under `/auth`."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from ..core.dependencies import SessionDep, SessionmakerDep, SettingsDep
from ..core.problems import problem_responses
from ..users.models import EMAIL_MAX_LENGTH
from . import service
from .dependencies import LoginRateLimiterDep, PasswordHasherDep, client_address
from .schemas import LoginForm, RefreshRequest, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"], responses=problem_responses(422, 503))


@router.post("/token", responses=problem_responses(401, 403, 413, 429))
async def login(
    form: Annotated[LoginForm, Form()],
    request: Request,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    hasher: PasswordHasherDep,
    limiter: LoginRateLimiterDep,
) -> TokenPair:
    """OAuth2 password flow: the email as `username`, and the password, as a form."""
    email, address = form.username[:EMAIL_MAX_LENGTH], client_address(request)
    await limiter.hit(email=email, address=address)
    pair = await service.login(sessionmaker, settings, hasher, form.username, form.password)
    await limiter.succeeded(email=email, address=address)
    return pair


@router.post("/refresh", responses=problem_responses(401, 413))
async def refresh(data: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenPair:
    """A new token pair for a refresh token, which is used up.

    Presenting a used one again revokes every token of its login.
    """
    return await service.refresh(session, settings, data.refresh_token)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 413)
)
async def logout(data: RefreshRequest, session: SessionDep) -> None:
    """Revoke the refresh token and every token rotated from the same login.

    Access tokens already issued stay valid until they expire (minutes).
    """
    await service.logout(session, data.refresh_token)
