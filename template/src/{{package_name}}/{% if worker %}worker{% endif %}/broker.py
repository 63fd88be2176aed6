"""The brokers: the one the app sends tasks with, and the one workers receive them from."""

from collections.abc import Sequence
from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from taskiq import AsyncBroker, TaskiqMiddleware
from taskiq_redis import RedisStreamBroker

from .middlewares import task_middlewares
from .settings import WorkerSettings


def create_broker(
    settings: WorkerSettings,
    middlewares: Sequence[TaskiqMiddleware],
    **redis_options: Any,
) -> AsyncBroker:
    """A broker on the task stream of `settings`, running tasks with `middlewares`."""
    broker = RedisStreamBroker(
        url=settings.redis_url.get_secret_value(),
        queue_name=settings.task_queue,
        # From the stream's start: tasks sent before any worker created the group count.
        consumer_id="0",
        maxlen=settings.task_queue_max_length,
        socket_connect_timeout=settings.redis_timeout_seconds,
        **redis_options,
    )
    return broker.with_middlewares(*middlewares)


def create_app_broker(settings: WorkerSettings) -> AsyncBroker:
    """The broker of the processes that only send: the app's, and the scheduler's.

    It gives up quickly (one retry, short timeouts), so that a Redis outage does not hold requests,
    and a Redis that hangs does not hold the scheduler's next sends.
    """
    return create_broker(
        settings,
        task_middlewares(settings),
        socket_timeout=settings.redis_timeout_seconds,
        retry=Retry(NoBackoff(), retries=1),
    )
