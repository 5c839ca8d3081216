"""The named jobs the service runs in the background.

A job takes JSON-serialisable ids, opens its own database session and is idempotent, so
the same code runs in-process (embedded default) and under the PostgreSQL queue, where
a job whose worker died is run again.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from assistant.config import Settings


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    engine: Engine


JobHandler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: JobHandler
    # Attempts before the queue gives up on a job that keeps raising.
    max_attempts: int = 5


JOBS: dict[str, JobSpec] = {}

# Modules whose import registers jobs; a worker imports them all before it takes jobs.
JOB_MODULES = (
    "assistant.jobs.probe",
    "assistant.provisioning.tasks",
    "assistant.paths.tasks",
    "assistant.results.tasks",
)


class UnknownJob(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no job named {name!r}; known jobs: {', '.join(sorted(JOBS))}")


def register_job(name: str, *, max_attempts: int = 5) -> Callable[[JobHandler], JobHandler]:
    """Register `handler(context: JobContext, **kwargs)` under a dotted job name."""

    def decorate(handler: JobHandler) -> JobHandler:
        JOBS[name] = JobSpec(name=name, handler=handler, max_attempts=max_attempts)
        return handler

    return decorate


def load_job_modules() -> None:
    for module in JOB_MODULES:
        importlib.import_module(module)


def get_job(name: str) -> JobSpec:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(name) from None


async def run_job(name: str, context: JobContext, kwargs: dict[str, Any]) -> None:
    await get_job(name).handler(context, **kwargs)
