"""The scheduler of `assistant serve`: defers each configured stage's job at its interval.

Jobs go to the app's queue, so on PostgreSQL any worker may run them. A queueing lock per
stage keeps a slow stage from piling up copies of itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from assistant.config import Settings
from assistant.jobs.queue import JobQueue

log = structlog.get_logger()


@dataclass(frozen=True)
class ScheduledStage:
    job: str
    minutes: float


def scheduled_stages(settings: Settings) -> list[ScheduledStage]:
    """List the stages with an interval above zero whose systems are configured."""
    stages = []
    if settings.schedule_sync_minutes > 0 and settings.bamboohr_url and settings.moodle_url:
        stages.append(ScheduledStage("provisioning.sync_bamboohr", settings.schedule_sync_minutes))
    if settings.schedule_collect_minutes > 0 and settings.moodle_url:
        stages.append(ScheduledStage("results.collect", settings.schedule_collect_minutes))
    if settings.schedule_deliver_minutes > 0:
        stages.append(ScheduledStage("results.deliver", settings.schedule_deliver_minutes))
    return stages


async def run_stage(queue: JobQueue, stage: ScheduledStage) -> None:
    """Defer the stage's job now and then every `minutes`, until cancelled."""
    while True:
        try:
            await queue.defer(stage.job, lock=f"schedule-{stage.job}")
            log.info("jobs.schedule.deferred", job=stage.job)
        except Exception as exc:  # noqa: BLE001 - a failed defer must not end the schedule
            log.warning("jobs.schedule.defer_failed", job=stage.job, error=type(exc).__name__)
        await asyncio.sleep(stage.minutes * 60)


def start_schedule(queue: JobQueue, settings: Settings) -> list[asyncio.Task[None]]:
    stages = scheduled_stages(settings)
    for stage in stages:
        log.info("jobs.schedule.started", job=stage.job, minutes=stage.minutes)
    return [asyncio.create_task(run_stage(queue, stage), name=f"schedule-{stage.job}") for stage in stages]
