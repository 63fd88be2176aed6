"""What tasks and routes ask for.

The worker's settings and sessions (task dependencies, `TaskiqDepends(...)`), and the app's broker
(a route dependency, `BrokerDep`).
"""

from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, Context, TaskiqDepends

from .settings import WorkerSettings


async def get_task_settings(context: Annotated[Context, TaskiqDepends()]) -> WorkerSettings:
    """The worker's settings (a task dependency)."""
    return cast(WorkerSettings, context.state.settings)


async def get_task_sessionmaker(
    context: Annotated[Context, TaskiqDepends()],
) -> async_sessionmaker[AsyncSession]:
    """The worker's session factory (a task dependency: `TaskiqDepends(...)`)."""
    return cast(async_sessionmaker[AsyncSession], context.state.sessionmaker)


async def get_broker(request: Request) -> AsyncBroker:
    """The broker the app sends tasks with.

    Services need none: they call `send_after_commit`, which finds it on their session.
    """
    return cast(AsyncBroker, request.app.state.broker)


BrokerDep = Annotated[AsyncBroker, Depends(get_broker)]
