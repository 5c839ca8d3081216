"""Result jobs: collect from Moodle and roleplay, and deliver the outbox.

Each job opens its own sessions and is safe to run again: collection skips what it
recorded before, and delivery is idempotent per target.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

import httpx
import structlog
from sqlalchemy.engine import Engine

from assistant.config import Settings
from assistant.db import session_scope
from assistant.jobs.registry import JobContext, register_job
from assistant.results.catalogue_rules import load_course_rules
from assistant.results.collector import (
    CollectionReport,
    Collector,
    TrackedAccount,
    record_roleplay_attempts,
    tracked_accounts,
)
from assistant.results.rules import CourseRules
from assistant.results.targets.registry import build_targets, configured_target_names
from assistant.results.worker import DeliveryReport, OutboxWorker, RetryPolicy

log = structlog.get_logger()


async def collect_moodle_results(
    settings: Settings,
    engine: Engine,
    *,
    rules: CourseRules | None = None,
    employee_ids: Sequence[str] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> CollectionReport:
    """Collect completions and grades of every tracked person, or of the given employee IDs."""
    from assistant.moodle.client import MoodleClient

    targets = configured_target_names(settings)
    accounts = _accounts(engine, employee_ids)
    async with MoodleClient.from_settings(settings, http_client=http_client) as moodle:
        collector = Collector(moodle, targets=targets, rules=rules)
        return await collector.collect(engine, accounts)


def collect_roleplay_results(settings: Settings, engine: Engine) -> int:
    """Record every scored roleplay attempt not recorded yet; returns how many were new."""
    from assistant.roleplay.service import finished_attempts

    targets = configured_target_names(settings)
    with session_scope(engine) as session:
        recorded = record_roleplay_attempts(session, finished_attempts(session), targets=targets)
    log.info("results.roleplay.collected", recorded=recorded)
    return recorded


async def deliver_outbox(
    settings: Settings,
    engine: Engine,
    *,
    once: bool,
    lease_seconds: float = 300.0,
    policy: RetryPolicy | None = None,
) -> DeliveryReport:
    """Deliver due outbox rows; with `once`, stop when nothing is due, else run until SIGTERM or SIGINT.

    A signal lets the batch in progress finish. A worker killed harder leaves its rows
    leased, and the next worker takes them over when the lease expires.
    """
    async with httpx.AsyncClient(timeout=settings.bamboohr_timeout) as http_client:
        targets = build_targets(settings, http_client=http_client)
        worker = OutboxWorker(engine, targets, policy=policy, lease_seconds=lease_seconds)
        if once:
            return await worker.drain()

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop.set)
        return await worker.run(stop)


def _accounts(engine: Engine, employee_ids: Sequence[str] | None) -> list[TrackedAccount]:
    with session_scope(engine) as session:
        accounts = tracked_accounts(session)
    if employee_ids is None:
        return accounts
    requested = set(employee_ids)
    return [account for account in accounts if account.employee_id in requested]


@register_job("results.collect", max_attempts=3)
async def collect_results_job(
    context: JobContext, *, employee_ids: list[str] | None = None
) -> None:
    """Collect Moodle results (for the given people, or everyone) and roleplay scores.

    Provisioning can defer it for a leaver before suspending the account, so the last
    completions still reach HR.
    """
    settings = context.settings
    rules = load_course_rules(settings) if settings.catalogue_file else None
    report = await collect_moodle_results(
        settings, context.engine, rules=rules, employee_ids=employee_ids
    )
    recorded = collect_roleplay_results(settings, context.engine)
    log.info(
        "results.collect_job.done",
        run_id=report.run_id,
        errors=report.errors,
        roleplay_recorded=recorded,
    )


@register_job("results.deliver", max_attempts=3)
async def deliver_results_job(context: JobContext) -> None:
    """Deliver every due outbox row once; rows another worker holds keep their lease."""
    report = await deliver_outbox(context.settings, context.engine, once=True)
    log.info("results.deliver_job.done", delivered=report.delivered, retried=report.retried, dead=report.dead)
