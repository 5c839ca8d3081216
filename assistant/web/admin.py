"""Admin pages: sync preview and apply, the outbox's dead letters, the compliance report.

The sync forms call the sync API's route functions in process, so a page run and an
API run go through the same code. The CSV download links to `GET /results/compliance.csv`,
which the admin's session cookie authorizes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from assistant.db import SessionDep
from assistant.errors import AssistantError
from assistant.web.errors import PAGE_TAG
from assistant.web.sources import commit_before_redirect, import_service, unavailable
from assistant.web.templating import render

router = APIRouter(tags=[PAGE_TAG])

SYNC_API = "assistant.provisioning.router"
OUTBOX_SERVICE = "assistant.results.outbox"
COMPLIANCE_SERVICE = "assistant.results.compliance"
RESULTS_API = "assistant.results.router"


@router.get("/admin", name="admin", response_class=HTMLResponse)
async def show_admin(request: Request) -> HTMLResponse:
    """List the admin tasks."""
    return render(request, "admin/index.html", {"title": "Admin"})


@router.get("/admin/sync", name="sync", response_class=HTMLResponse)
async def show_sync(request: Request) -> HTMLResponse:
    """Show the form that previews a sync run."""
    missing = None if import_service(SYNC_API, "preview_sync") else unavailable("Sync", SYNC_API)
    return render(request, "admin/sync.html", {"title": "Sync HR to Moodle", "missing": missing})


async def _sync(request: Request, *, source: str, csv: str, force: bool, apply: bool) -> HTMLResponse:
    sync_api = import_service(SYNC_API, "preview_sync", "create_run")
    if sync_api is None:
        return render(request, "admin/sync.html", {"title": "Sync HR to Moodle", "missing": unavailable("Sync", SYNC_API)})

    from assistant.provisioning.render import render_report
    from assistant.provisioning.schemas import SyncRequest

    body = SyncRequest(source=source, csv=csv or None, force=force)  # type: ignore[arg-type]
    context: dict[str, Any] = {"title": "Sync HR to Moodle", "source": source, "csv": csv, "force": force}
    try:
        report = await (sync_api.create_run(body, request) if apply else sync_api.preview_sync(body, request))
    except AssistantError as exc:
        context["error"] = exc.message
        return render(request, "admin/sync.html", context, status_code=exc.status_code)

    context.update(report=report, diff=render_report(report), applied=apply)
    return render(request, "admin/sync.html", context)


@router.post("/admin/sync/preview", name="sync_preview", response_class=HTMLResponse)
async def preview_sync(
    request: Request,
    source: Annotated[str, Form(pattern="^(csv|bamboohr)$")],
    csv: Annotated[str, Form()] = "",
    force: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Plan a run without writing anything and show the diff, with a button to apply it."""
    return await _sync(request, source=source, csv=csv, force=force, apply=False)


@router.post("/admin/sync/apply", name="sync_apply", response_class=HTMLResponse)
async def apply_sync(
    request: Request,
    source: Annotated[str, Form(pattern="^(csv|bamboohr)$")],
    csv: Annotated[str, Form()] = "",
    force: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Run the sync for real and show what it changed."""
    return await _sync(request, source=source, csv=csv, force=force, apply=True)


@router.get("/admin/outbox", name="outbox", response_class=HTMLResponse)
async def show_outbox(request: Request, session: SessionDep) -> HTMLResponse:
    """List the dead letters of the results outbox with a retry button each."""
    outbox = import_service(OUTBOX_SERVICE, "list_items", "count_by_status", "retry")
    if outbox is None:
        return render(request, "admin/outbox.html", {"title": "Results outbox", "missing": unavailable("The outbox", OUTBOX_SERVICE)})

    from assistant.results.models import OutboxStatus

    context = {
        "title": "Results outbox",
        "counts": outbox.count_by_status(session),
        "dead": outbox.list_items(session, status=OutboxStatus.DEAD, limit=500),
    }
    return render(request, "admin/outbox.html", context)


@router.post("/admin/outbox/{item_id}/retry", name="outbox_retry")
async def retry_outbox_item(session: SessionDep, item_id: int) -> RedirectResponse:
    """Make a dead letter due now and return to the outbox."""
    outbox = import_service(OUTBOX_SERVICE, "retry")
    if outbox is not None:
        outbox.retry(session, item_id)
        commit_before_redirect(session)
    return RedirectResponse(f"/admin/outbox?retried={item_id}", status_code=303)


@router.get("/admin/compliance", name="compliance", response_class=HTMLResponse)
async def show_compliance(request: Request, session: SessionDep, department: str | None = None) -> HTMLResponse:
    """Show each active person's state on each mandatory course, with a CSV download."""
    compliance = import_service(COMPLIANCE_SERVICE, "compliance_report")
    results_api = import_service(RESULTS_API, "get_course_rules")
    if compliance is None or results_api is None:
        missing = unavailable("The compliance report", COMPLIANCE_SERVICE)
        return render(request, "admin/compliance.html", {"title": "Compliance report", "missing": missing})

    report = compliance.compliance_report(session, results_api.get_course_rules(request), department=department)
    context = {"title": "Compliance report", "report": report, "department": department or ""}
    return render(request, "admin/compliance.html", context)
