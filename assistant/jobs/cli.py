"""`assistant worker` and `assistant jobs ...`."""

from __future__ import annotations

import asyncio
import time
import uuid

import typer

from assistant.config import get_settings

jobs_app = typer.Typer(help="Inspect and test the background job queue.", no_args_is_help=True)

# Probes deferred per database round trip.
DEFER_CHUNK = 1000


def _postgres_engine_or_exit():  # type: ignore[no-untyped-def]
    from assistant.db import create_db_engine, migrate

    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    if engine.dialect.name != "postgresql":
        typer.echo(
            "The job queue needs PostgreSQL: set ASSISTANT_DATABASE_URL to a postgresql:// URL. "
            "On the embedded SQLite default, `assistant serve` runs jobs in its own process.",
            err=True,
        )
        raise typer.Exit(2)
    migrate(engine)
    return settings, engine


def worker(
    concurrency: int = typer.Option(4, min=1, help="Jobs this process runs at once."),
    until_empty: bool = typer.Option(False, "--until-empty", help="Exit when the queue is empty instead of waiting."),
) -> None:
    """Take jobs from the PostgreSQL queue until stopped with Ctrl-C or SIGTERM."""
    from assistant.jobs.worker import run_worker
    from assistant.logging import configure_logging

    settings, engine = _postgres_engine_or_exit()
    configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
    asyncio.run(run_worker(settings, engine, concurrency=concurrency, wait=not until_empty))


@jobs_app.command("selftest")
def selftest(
    count: int = typer.Option(1000, min=1, help="Probe jobs to defer."),
    wait: bool = typer.Option(True, help="Wait until every probe ran, then check the counts."),
    timeout: float = typer.Option(600.0, help="Seconds to wait before giving up."),
) -> None:
    """Defer probe jobs and check that workers ran each exactly once."""
    settings, engine = _postgres_engine_or_exit()
    run_id = uuid.uuid4().hex[:12]
    asyncio.run(_defer_probes(settings, engine, run_id, count))
    typer.echo(f"deferred {count} probe jobs, run {run_id}")
    if not wait:
        return

    rows, executions = _wait_for_probes(engine, run_id, count, timeout)
    typer.echo(f"run {run_id}: {rows} of {count} probes done, {executions - rows} re-executions after crashes")
    if rows != count:
        raise typer.Exit(1)


async def _defer_probes(settings, engine, run_id: str, count: int) -> None:  # type: ignore[no-untyped-def]
    from assistant.jobs.worker import build_procrastinate_app

    app = build_procrastinate_app(settings, engine)
    async with app.open_async():
        task = app.tasks["jobs.probe"]
        for start in range(0, count, DEFER_CHUNK):
            batch = [{"run_id": run_id, "key": f"{run_id}-{n}"} for n in range(start, min(start + DEFER_CHUNK, count))]
            await task.batch_defer_async(*batch)


def _wait_for_probes(engine, run_id: str, count: int, timeout: float) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from sqlmodel import Session

    from assistant.jobs.probe import probe_counts

    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            rows, executions = probe_counts(session, run_id)
        if rows >= count or time.monotonic() > deadline:
            return rows, executions
        time.sleep(0.5)
