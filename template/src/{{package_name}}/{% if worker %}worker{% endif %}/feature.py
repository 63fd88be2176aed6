"""The worker feature of the app.

Its broker, which the app's sessions send tasks through, and readiness that does without Redis.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from ..core.features import Feature, Readiness
from ..core.redis_client import redis_error
from .broker import create_app_broker
from .sending import send_tasks_with
from .settings import WorkerSettings


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
        """Degraded while Redis does not answer; `ok` again as soon as it does.

        Requests still succeed: the change that asks for a task is stored, the task that cannot be
        sent is logged (`task_not_sent`), and the scheduler's periodic resend sends it again once
        Redis is back (its item is still unprocessed). So the replica stays in the load balancer's
        rotation: a Redis outage reaches every replica at once, and taking them all out would turn
        it into an outage of the API.
        """
        return "degraded" if await redis_error(app.state.redis) else "ok"
