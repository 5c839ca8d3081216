"""Background job that pushes SCIM changes to Moodle right after the SCIM request commits."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from fastapi import FastAPI

log = structlog.get_logger()

SOURCE = "scim"


async def sync_people_to_moodle(app: FastAPI, employee_ids: Sequence[str]) -> None:
    """Plan and apply the Moodle account of each employee, one at a time.

    A deactivated person's account is suspended here. Failures are logged as
    `scim.moodle_sync.failed` and not raised, because the SCIM response has already
    been sent.

    NOTE: a failed sync is not retried here. The person's account stays as it was until
    the next sync run that covers the person.
    """
    # Imported here: provisioning pulls in the Moodle client and the planner.
    from assistant.moodle.client import MoodleClient
    from assistant.people.mapping import load_mapping
    from assistant.provisioning.service import sync_person

    settings = app.state.settings
    if not settings.moodle_url:
        log.info("scim.moodle_sync.skipped", reason="ASSISTANT_MOODLE_URL is not set", people=len(employee_ids))
        return

    try:
        mapping = load_mapping(settings.mapping_file)
        client = MoodleClient.from_settings(settings, http_client=app.state.http_client)
    except Exception as exc:  # noqa: BLE001 - a bad setting must not crash the worker thread
        log.error("scim.moodle_sync.failed", error=type(exc).__name__, detail=str(exc), people=len(employee_ids))
        return

    for employee_id in dict.fromkeys(employee_ids):
        try:
            item = await sync_person(app.state.engine, client, employee_id, mapping=mapping, source=SOURCE)
        except Exception as exc:  # noqa: BLE001 - logged, and the SCIM change is already committed
            log.error("scim.moodle_sync.failed", employee_id=employee_id, error=type(exc).__name__, detail=str(exc))
            continue

        if item.outcome == "failed":
            log.error("scim.moodle_sync.failed", employee_id=employee_id, action=item.action.value, detail=item.error)
        else:
            log.info("scim.moodle_sync.done", employee_id=employee_id, action=item.action.value, outcome=item.outcome)
