"""Job queues: in-process tasks, or a procrastinate queue in PostgreSQL.

The embedded default (SQLite) runs each job in-process as an asyncio task: one process,
no extra server. With PostgreSQL the jobs go to a procrastinate queue in the same
database, and any number of `assistant worker` processes on any number of machines take
them. Procrastinate was chosen over a Redis queue (arq, RQ, Dramatiq) because the
production database is already PostgreSQL. A job can be deferred in the same
transaction as the rows it concerns, and there is no second server to run and back up.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import procrastinate
import structlog
from sqlalchemy.engine import make_url

from assistant.jobs.registry import JobContext, get_job, run_job

log = structlog.get_logger()


class JobQueue(Protocol):
    async def defer(self, name: str, *, lock: str | None = None, **kwargs: Any) -> None: ...


class InlineQueue:
    """Runs jobs as tasks in this process; for the single-process embedded default."""

    def __init__(self, context: JobContext) -> None:
        self._context = context
        self._tasks: set[asyncio.Task[None]] = set()
        self._locked: dict[str, asyncio.Task[None]] = {}

    async def defer(self, name: str, *, lock: str | None = None, **kwargs: Any) -> None:
        get_job(name)
        if lock is not None and lock in self._locked and not self._locked[lock].done():
            log.info("jobs.inline.already_queued", job=name, lock=lock)
            return

        task = asyncio.create_task(self._run(name, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if lock is not None:
            self._locked[lock] = task

    async def _run(self, name: str, kwargs: dict[str, Any]) -> None:
        spec = get_job(name)
        for attempt in range(1, spec.max_attempts + 1):
            try:
                await run_job(name, self._context, kwargs)
                return
            except Exception as exc:  # noqa: BLE001 - every failure is logged and retried
                log.warning("jobs.inline.failed", job=name, attempt=attempt, error=type(exc).__name__)
                await asyncio.sleep(min(2**attempt, 30))
        log.error("jobs.inline.gave_up", job=name, attempts=spec.max_attempts)

    async def drain(self) -> None:
        """Wait for every job deferred so far; used at shutdown and in tests."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class ProcrastinateQueue:
    """Defers jobs to the procrastinate queue in PostgreSQL."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def defer(self, name: str, *, lock: str | None = None, **kwargs: Any) -> None:
        get_job(name)
        task = self._app.tasks[name]
        try:
            await task.configure(queueing_lock=lock).defer_async(**kwargs)
        except procrastinate.exceptions.AlreadyEnqueued:
            log.info("jobs.queue.already_queued", job=name, lock=lock)


def postgres_conninfo(database_url: str) -> str:
    """Turn a SQLAlchemy PostgreSQL URL into a libpq connection string for psycopg."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
