"""The scheduler process (`taskiq scheduler`): it sends the periodic tasks when due."""

from taskiq import ScheduledTask, ScheduleSource, TaskiqScheduler

from .broker import create_app_broker


class FixedSchedules(ScheduleSource):
    """Schedules declared in code (taskiq's label-based source does not see shared tasks)."""

    def __init__(self, schedules: list[ScheduledTask]) -> None:
        """Serve `schedules`, always the same."""
        self._schedules = schedules

    async def get_schedules(self) -> list[ScheduledTask]:
        """The schedules declared in code."""
        return self._schedules


def create_scheduler() -> TaskiqScheduler:
    """The entry point of `taskiq scheduler`.

    It sends each periodic task when due (to the workers, through Redis). Run exactly one, or
    periodic tasks are sent several times. A send that fails (Redis down, or silent for
    `REDIS_TIMEOUT_SECONDS`) is given up; the task is sent again at its next time.
    """
    # Imported when called: the combined settings import this package's own.
    from ..core.logs import configure_logging  # noqa: PLC0415
    from ..items.tasks import SCHEDULES  # noqa: PLC0415 - registers the tasks too
    from ..settings import Settings  # noqa: PLC0415

    settings = Settings()
    configure_logging(settings)
    return TaskiqScheduler(create_app_broker(settings), sources=[FixedSchedules(SCHEDULES)])
