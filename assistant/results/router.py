"""Results API: the outbox and its dead letters, certifications, the compliance report."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from assistant.db import SessionDep
from assistant.results import outbox
from assistant.results.catalogue_rules import load_course_rules
from assistant.results.certifications import certifications_for
from assistant.results.compliance import compliance_csv, compliance_report
from assistant.results.models import OutboxStatus
from assistant.results.rules import CourseRules
from assistant.results.schemas import ComplianceReport, OutboxItemRead

router = APIRouter(prefix="/results", tags=["results"])


class CertificationRead(BaseModel):
    course_code: str
    course_name: str
    completed_on: date
    expires_on: date | None
    due_from: date | None
    status: str


def get_course_rules(request: Request) -> CourseRules:
    """Use the rules the app was given, else read the catalogue file of the settings."""
    rules: CourseRules | None = getattr(request.app.state, "course_rules", None)
    if rules is not None:
        return rules
    return load_course_rules(request.app.state.settings)


CourseRulesDep = Annotated[CourseRules, Depends(get_course_rules)]


@router.get("/outbox")
def list_outbox(
    session: SessionDep,
    status: OutboxStatus | None = None,
    target: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[OutboxItemRead]:
    """List outbox rows oldest first; `status=dead` lists the dead letters with their last error."""
    items = outbox.list_items(session, status=status, target=target, limit=limit, offset=offset)
    return [OutboxItemRead.model_validate(item) for item in items]


@router.get("/outbox/counts")
def count_outbox(session: SessionDep) -> dict[str, int]:
    """Count outbox rows per status."""
    return outbox.count_by_status(session)


@router.post("/outbox/{item_id}/retry")
def retry_outbox_item(item_id: int, session: SessionDep) -> OutboxItemRead:
    """Make a dead or waiting row due now with a fresh attempt budget."""
    return OutboxItemRead.model_validate(outbox.retry(session, item_id))


@router.get("/certifications/{employee_id}")
def list_certifications(employee_id: str, session: SessionDep) -> list[CertificationRead]:
    """List one person's certifications with expiry and renewal status."""
    return [
        CertificationRead(
            course_code=certification.course_code,
            course_name=certification.course_name,
            completed_on=certification.completed_on,
            expires_on=certification.expires_on,
            due_from=certification.due_from,
            status=certification.status.value,
        )
        for certification in certifications_for(session, employee_id)
    ]


@router.get("/compliance")
def get_compliance(
    session: SessionDep,
    rules: CourseRulesDep,
    department: str | None = None,
    manager: str | None = None,
) -> ComplianceReport:
    """Report each active person's state on each mandatory course, for a department or a manager's team."""
    return compliance_report(session, rules, department=department, manager_employee_id=manager)


@router.get("/compliance.csv", response_class=PlainTextResponse)
def get_compliance_csv(
    session: SessionDep,
    rules: CourseRulesDep,
    department: str | None = None,
    manager: str | None = None,
) -> PlainTextResponse:
    """Return the compliance report's rows as CSV."""
    report = compliance_report(session, rules, department=department, manager_employee_id=manager)
    return PlainTextResponse(compliance_csv(report), media_type="text/csv; charset=utf-8")
