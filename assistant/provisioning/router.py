"""The sync API: preview a run, apply one, read a run's report and its audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from assistant.config import Settings
from assistant.db import SessionDep
from assistant.errors import AssistantError, Conflict, InvalidInput
from assistant.moodle.client import MoodleClient
from assistant.people.mapping import load_mapping
from assistant.provisioning import service
from assistant.provisioning.schemas import AuditRead, RunRead, RunReport, SyncRequest
from assistant.provisioning.sources import CsvTextSource, open_bamboohr_source

router = APIRouter(prefix="/sync", tags=["sync"])


class SyncRejected(Conflict):
    """The guard rejected the run, so nothing was written."""


class MoodleNotConfigured(AssistantError):
    status_code = 503


@router.post("/preview")
async def preview_sync(body: SyncRequest, request: Request) -> RunReport:
    """Import and plan without writing anything, and return the diff."""
    return await _run(request, body, dry_run=True)


@router.post("/runs", status_code=status.HTTP_201_CREATED)
async def create_run(body: SyncRequest, request: Request) -> RunReport:
    """Import, plan and apply; 409 when the guard rejects the run and `force` is false."""
    report = await _run(request, body, dry_run=False)
    if report.status == "refused":
        reasons = "; ".join(report.guard.reasons)
        raise SyncRejected(f"sync run {report.run_id} was rejected and changed nothing: {reasons}")
    return report


@router.get("/runs/{run_id}")
def get_run(run_id: str, session: SessionDep) -> RunRead:
    return RunRead.model_validate(service.get_run(session, run_id))


@router.get("/runs/{run_id}/audit")
def list_run_audit(run_id: str, session: SessionDep) -> list[AuditRead]:
    """Return every change the run made in Moodle, in the order it made them."""
    return [AuditRead.model_validate(row) for row in service.list_audit(session, run_id)]


async def _run(request: Request, body: SyncRequest, *, dry_run: bool) -> RunReport:
    settings: Settings = request.app.state.settings
    mapping = load_mapping(settings.mapping_file)
    try:
        client = MoodleClient.from_settings(settings, http_client=request.app.state.http_client)
    except ValueError as exc:
        raise MoodleNotConfigured(f"Moodle is not configured: {exc}") from exc

    engine = request.app.state.engine
    if body.source == "csv":
        if not body.csv:
            raise InvalidInput("source csv needs the export's text in the 'csv' field")
        source = CsvTextSource(body.csv, mapping)
        return await service.run_sync(engine, client, source, mapping=mapping, dry_run=dry_run, force=body.force)

    if body.csv is not None:
        raise InvalidInput("the 'csv' field is only for source csv; BambooHR is read with the ASSISTANT_BAMBOOHR_* settings")
    async with open_bamboohr_source(settings, mapping) as bamboohr:
        return await service.run_sync(engine, client, bamboohr, mapping=mapping, dry_run=dry_run, force=body.force)
