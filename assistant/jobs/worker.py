"""The procrastinate app and the `assistant worker` process.

Each worker sends a heartbeat; a side loop in every worker puts back the jobs of workers
whose heartbeat stopped (a killed process, a lost machine), so their jobs run again on a
live worker. Jobs are idempotent, so a job that did its work but died before it was
marked done changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import procrastinate
import structlog
from sqlalchemy.engine import Engine

from assistant.config import Settings
from assistant.jobs.queue import postgres_conninfo
from assistant.jobs.registry import JOBS, JobContext, load_job_modules, run_job

log = structlog.get_logger()

# Seconds between heartbeats, and without one before a worker counts as dead.
HEARTBEAT_INTERVAL = 2.0
STALLED_AFTER = 10.0


def build_procrastinate_app(settings: Settings, engine: Engine) -> procrastinate.App:
    """Create the app with one procrastinate task per registered job."""
    load_job_modules()
    connector = procrastinate.PsycopgConnector(conninfo=postgres_conninfo(settings.resolved_database_url))
    app = procrastinate.App(connector=connector)
    context = JobContext(settings=settings, engine=engine)

    for spec in JOBS.values():
        retry = procrastinate.RetryStrategy(max_attempts=spec.max_attempts, exponential_wait=2)
        app.task(name=spec.name, retry=retry, pass_context=False)(partial(_run, spec.name, context))
    return app


async def _run(name: str, context: JobContext, **kwargs: Any) -> None:
    await run_job(name, context, kwargs)


async def requeue_stalled_jobs(app: procrastinate.App, *, stalled_after: float = STALLED_AFTER) -> int:
    """Put the running jobs of workers without a recent heartbeat back in the queue."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after))
    for job in stalled:
        await app.job_manager.retry_job(job)
    if stalled:
        log.warning("jobs.stalled.requeued", count=len(stalled), job_ids=[job.id for job in stalled][:20])
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=stalled_after)
    return len(stalled)


async def _requeue_loop(app: procrastinate.App, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(stalled_after / 2)
        try:
            await requeue_stalled_jobs(app, stalled_after=stalled_after)
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a failed check
            log.warning("jobs.stalled.check_failed", error=type(exc).__name__)


async def run_worker(
    settings: Settings,
    engine: Engine,
    *,
    concurrency: int = 4,
    stalled_after: float = STALLED_AFTER,
    wait: bool = True,
) -> None:
    """Take jobs until stopped (SIGINT/SIGTERM), or with `wait=False` until the queue is empty."""
    app = build_procrastinate_app(settings, engine)
    async with app.open_async():
        requeue = asyncio.create_task(_requeue_loop(app, stalled_after))
        log.info("jobs.worker.started", concurrency=concurrency)
        try:
            await app.run_worker_async(
                concurrency=concurrency,
                wait=wait,
                update_heartbeat_interval=HEARTBEAT_INTERVAL,
                stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=1.0,
            )
        finally:
            requeue.cancel()
            log.info("jobs.worker.stopped")
