"""Background tasks on taskiq, carried by a Redis stream.

The app sends tasks; workers, as many as needed on any machine, run them; one scheduler sends the
periodic tasks:

    uv run taskiq worker <package>.worker:create_worker_broker --no-configure-logging
    uv run taskiq scheduler <package>.worker:create_scheduler --no-configure-logging

Delivery is at least once (a worker that dies mid-task leaves the task to another), so
tasks must be idempotent. A task that raises is retried with exponential backoff.

A service asks for a task with `send_after_commit(session, task, *args)`: it is sent once
the transaction commits, through the broker of the session's factory.

Redis down, a task that cannot be sent is logged (`task_not_sent`), not raised: the change
that asked for it is stored, and a periodic task finds the work left undone in the database
and sends it again (`items.resend_unprocessed_items`). So the app stays ready, degraded, and
serves meanwhile.
"""

from .broker import create_app_broker, create_broker
from .dependencies import BrokerDep, get_broker, get_task_sessionmaker, get_task_settings
from .feature import WorkerFeature
from .middlewares import RetryWithBackoff, task_middlewares
from .process import create_worker_broker
from .scheduler import create_scheduler
from .sending import NoBrokerError, send_after_commit, send_task, send_tasks_with
from .settings import WorkerSettings

__all__ = [
    "BrokerDep",
    "NoBrokerError",
    "RetryWithBackoff",
    "WorkerFeature",
    "WorkerSettings",
    "create_app_broker",
    "create_broker",
    "create_scheduler",
    "create_worker_broker",
    "get_broker",
    "get_task_sessionmaker",
    "get_task_settings",
    "send_after_commit",
    "send_task",
    "send_tasks_with",
    "task_middlewares",
]
