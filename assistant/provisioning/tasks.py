"""Background jobs of the provisioning domain.

Both jobs are idempotent: a second run with the same input plans no change and makes no
Moodle write. `MoodleUnavailable` propagates so that the queue retries the job.
"""

from __future__ import annotations

import structlog

from assistant.jobs.registry import JobContext, register_job
from assistant.moodle.client import MoodleClient
from assistant.people.mapping import load_mapping
from assistant.provisioning.service import run_sync, sync_person
from assistant.provisioning.sources import open_bamboohr_source

log = structlog.get_logger()


@register_job("provisioning.sync_person")
async def sync_person_job(context: JobContext, *, employee_id: str) -> None:
    """Mirror one employee into Moodle, for example after SCIM deactivated them."""
    mapping = load_mapping(context.settings.mapping_file)
    async with MoodleClient.from_settings(context.settings) as client:
        item = await sync_person(context.engine, client, employee_id, mapping=mapping, source="job")
    if item.outcome == "failed":
        log.warning("provisioning.sync_person_job.failed", employee_id=employee_id, action=item.action.value, reason=item.error)


@register_job("provisioning.sync_bamboohr", max_attempts=3)
async def sync_bamboohr_job(context: JobContext, *, force: bool = False) -> None:
    """Run a full sync from BambooHR; a run the guard rejects is logged and not retried."""
    mapping = load_mapping(context.settings.mapping_file)
    async with open_bamboohr_source(context.settings, mapping) as source, MoodleClient.from_settings(context.settings) as client:
        report = await run_sync(context.engine, client, source, mapping=mapping, dry_run=False, force=force)
    if report.status == "refused":
        log.warning("provisioning.sync_bamboohr_job.refused", run_id=report.run_id, reasons=report.guard.reasons)
