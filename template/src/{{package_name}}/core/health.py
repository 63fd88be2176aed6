"""Liveness (the process answers) and readiness (what the features depend on answers)."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from .dependencies import SettingsDep
from .features import app_features
from .problems import problem_responses

router = APIRouter(prefix="/health", tags=["health"])


class HealthStatus(BaseModel):
    """A probe's answer."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    status: str
    """`ok`, or `degraded`: ready, with something optional missing."""


@router.get("/live")
async def live() -> HealthStatus:
    """The process answers: it needs no restart."""
    return HealthStatus(status="ok")


@router.get("/ready", responses=problem_responses(503))
async def ready(request: Request, settings: SettingsDep) -> HealthStatus:
    """Ready for traffic when every feature's check passes, in order (the database first).

    A 503 names what does not answer. Degraded when a feature can do without what it misses.
    """
    features = app_features(request.app)
    statuses = [await feature.check_ready(request.app, settings) for feature in features]
    return HealthStatus(status="degraded" if "degraded" in statuses else "ok")
