"""The worker feature of the app.

Its broker, which the app's sessions send tasks through, and readiness that needs Redis.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..core.errors import ServiceUnavailableError
from ..core.features import Feature, Readiness
from ..core.redis_client import redis_error
from .broker import create_app_broker
from .sending import send_tasks_with
from .settings import WorkerSettings


class RedisUnavailableError(ServiceUnavailableError):
    """Redis does not answer: tasks cannot be sent."""

    code = "redis_unavailable"
    title = "Redis unavailable"


class WorkerFeature(Feature):
    """The app's broker at `app.state.broker`.

    The app's sessions send their tasks through it (see `send_after_commit`).
    """

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: WorkerSettings) -> AsyncIterator[None]:
        """Make the broker, and shut it down with the app.

        The app only sends tasks, which needs no `broker.startup()` (workers declare the stream's
        consumer group).
        """
        app.state.broker = broker = create_app_broker(settings)
        send_tasks_with(app.state.sessionmaker, broker)
        try:
            yield
        finally:
            await broker.shutdown()

    async def check_ready(self, app: FastAPI, settings: WorkerSettings) -> Readiness:
        """`RedisUnavailableError` while Redis does not answer.

        Without it tasks cannot be sent, so this replica leaves the load balancer's rotation.
        """
        if error := await redis_error(app.state.redis):
            msg = f"Redis check failed: {error}"
            raise RedisUnavailableError(msg)
        return "ok"
