"""Dependencies shared by every domain, as `Annotated` aliases.

Each feature keeps its own beside its code.
"""

from typing import Annotated, cast

from fastapi import Depends, Request

from ..settings import Settings
from .database import SessionDep, SessionmakerDep


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with; tests may override this dependency."""
    return cast(Settings, request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]

__all__ = ["SessionDep", "SessionmakerDep", "SettingsDep", "get_settings"]
