"""Liveness (the process answers) and readiness (the database answers too)."""

import asyncio
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from .dependencies import SettingsDep
from .errors import DatabaseUnavailableError
from .problems import problem_responses

router = APIRouter(prefix="/health", tags=["health"])


class HealthStatus(BaseModel):
    status: str


async def get_engine(request: Request) -> AsyncEngine:
    return cast(AsyncEngine, request.app.state.engine)


@router.get("/live")
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/ready", responses=problem_responses(503))
async def ready(
    engine: Annotated[AsyncEngine, Depends(get_engine)], settings: SettingsDep
) -> HealthStatus:
    try:
        async with asyncio.timeout(settings.health_timeout_seconds):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise DatabaseUnavailableError(f"Database check failed: {type(exc).__name__}") from exc
    return HealthStatus(status="ok")
