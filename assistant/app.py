"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from assistant import health
from assistant.auth.dependencies import AUTHORIZED
from assistant.config import Settings, get_settings
from assistant.db import create_db_engine, migrate
from assistant.errors import InvalidInput, install_error_handlers
from assistant.jobs.queue import InlineQueue, JobQueue, ProcrastinateQueue
from assistant.jobs.registry import JobContext, load_job_modules
from assistant.jobs.scheduler import start_schedule
from assistant.jobs.worker import build_procrastinate_app
from assistant.logging import configure_logging
from assistant.moodle.client import MoodleClient
from assistant.moodle.health import moodle_readiness_check
from assistant.web.setup import install_web
from assistant.scim.router import router as scim_router
from assistant.llm.factory import attach_llm
from assistant.roleplay.router import router as roleplay_router
from assistant.results.router import router as results_router
from assistant.paths.router import router as paths_router
from assistant.provisioning.router import router as provisioning_router

log = structlog.get_logger()


def _readiness_checks(settings: Settings, engine: Engine, app: FastAPI) -> list[health.ReadinessCheck]:
    """List the checks `/readyz` runs: the database, plus each external system that is configured."""
    checks = [health.database_check(engine)]
    checks.append(attach_llm(app, settings))
    if settings.moodle_url:
        checks.append(moodle_readiness_check(MoodleClient.from_settings(settings, http_client=app.state.http_client)))
    return checks


@asynccontextmanager
async def job_queue(settings: Settings, engine: Engine) -> AsyncIterator[JobQueue]:
    """Open the configured job queue: in-process, or the procrastinate queue in PostgreSQL."""
    if settings.job_queue != "postgres":
        queue = InlineQueue(JobContext(settings=settings, engine=engine))
        yield queue
        await queue.drain()
        return

    if engine.dialect.name != "postgresql":
        raise InvalidInput("ASSISTANT_JOB_QUEUE=postgres needs ASSISTANT_DATABASE_URL to name a PostgreSQL database")
    procrastinate_app = build_procrastinate_app(settings, engine)
    async with procrastinate_app.open_async():
        yield ProcrastinateQueue(procrastinate_app)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, run_schedule: bool = False) -> FastAPI:
    """Build the app; the engine defaults to the configured database, migrated at start-up.

    With `run_schedule` (as `assistant serve` does) the app defers each stage's job at the
    intervals the settings give.
    """
    settings = settings or get_settings()
    settings.check_production_secrets()
    engine = engine or create_db_engine(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
        migrate(engine)
        async with httpx.AsyncClient(timeout=settings.moodle_timeout) as http_client, job_queue(settings, engine) as queue:
            app.state.http_client = http_client
            app.state.job_queue = queue
            app.state.readiness_checks = _readiness_checks(settings, engine, app)
            schedule = start_schedule(queue, settings) if run_schedule else []
            log.info("app.started", environment=settings.environment.value, database=engine.dialect.name)
            yield
            for task in schedule:
                task.cancel()
        log.info("app.stopped")

    app = FastAPI(
        title="assistant",
        summary="HR to Moodle provisioning, adaptive learning paths and scored roleplay practice.",
        version="0.1.0",
        lifespan=lifespan,
        # The interactive docs pages load their scripts from a CDN; the schema at
        # /openapi.json is served from here and opens in any OpenAPI viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    load_job_modules()

    install_error_handlers(app)
    app.include_router(health.router, dependencies=AUTHORIZED)
    app.include_router(scim_router, dependencies=AUTHORIZED)
    app.include_router(roleplay_router, dependencies=AUTHORIZED)
    app.include_router(results_router, dependencies=AUTHORIZED)
    app.include_router(paths_router, dependencies=AUTHORIZED)
    app.include_router(provisioning_router, dependencies=AUTHORIZED)
    install_web(app, settings)
    return app
