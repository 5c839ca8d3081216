"""The compliance report: who is current, due soon, expired or never completed on each
mandatory course, per department and per manager.

Only active people are in scope. The `CourseRules` the caller passes (built from the
path engine's catalogue configuration) decide each person's mandatory courses.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlmodel import Session

from assistant.people.models import Person, PersonStatus
from assistant.people.service import list_people, reports_of, require_person
from assistant.results.certifications import (
    DUE_SOON_DAYS,
    CertificationStatus,
    latest_completions,
    to_certification,
)
from assistant.results.rules import CourseRules
from assistant.results.schemas import ComplianceReport, ComplianceRow, ComplianceSummary

CSV_COLUMNS = (
    "employee_id",
    "display_name",
    "department",
    "manager_employee_id",
    "course_code",
    "status",
    "completed_on",
    "expires_on",
)


def _people_in_scope(
    session: Session, *, department: str | None, manager_employee_id: str | None
) -> list[Person]:
    if manager_employee_id is not None:
        require_person(session, manager_employee_id)
        people = reports_of(session, manager_employee_id, indirect=True)
    else:
        people = list_people(session)

    people = [person for person in people if person.status == PersonStatus.ACTIVE]
    if department is not None:
        department_key = department.strip().casefold()
        people = [
            person
            for person in people
            if (person.department or "").strip().casefold() == department_key
        ]
    return people


def _row(
    person: Person, course_code: str, completion_state: tuple[str, date | None, date | None]
) -> ComplianceRow:
    status, completed_on, expires_on = completion_state
    return ComplianceRow(
        employee_id=person.employee_id,
        display_name=person.display_name or f"{person.given_name} {person.family_name}".strip(),
        department=person.department,
        manager_employee_id=person.manager_employee_id,
        course_code=course_code,
        status=status,
        completed_on=completed_on,
        expires_on=expires_on,
    )


def _summarise(rows: Iterable[ComplianceRow], group_of: str) -> list[ComplianceSummary]:
    counts: dict[tuple[str | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        group = getattr(row, group_of)
        counts[(group, row.course_code)][row.status] += 1

    ordered = sorted(counts.items(), key=lambda entry: (entry[0][0] or "", entry[0][1]))
    return [
        ComplianceSummary(group=group, course_code=course, **dict(by_status))
        for (group, course), by_status in ordered
    ]


def compliance_report(
    session: Session,
    rules: CourseRules,
    *,
    department: str | None = None,
    manager_employee_id: str | None = None,
    on: date | None = None,
    due_soon_days: int = DUE_SOON_DAYS,
) -> ComplianceReport:
    """Build the report for everyone, one department (case-insensitive) or one manager's whole team.

    Raises PersonNotFound when the manager is unknown.
    """
    today = on or datetime.now(UTC).date()
    people = _people_in_scope(
        session, department=department, manager_employee_id=manager_employee_id
    )
    latest = latest_completions(session, [person.employee_id for person in people])

    rows = []
    for person in people:
        for course_code in rules.mandatory_courses(person):
            completion = latest.get((person.employee_id, course_code))
            if completion is None:
                rows.append(
                    _row(person, course_code, (CertificationStatus.NEVER_COMPLETED, None, None))
                )
                continue
            certification = to_certification(completion, on=today, due_soon_days=due_soon_days)
            state = (
                certification.status.value,
                certification.completed_on,
                certification.expires_on,
            )
            rows.append(_row(person, course_code, state))

    rows.sort(key=lambda row: (row.department or "", row.employee_id, row.course_code))
    return ComplianceReport(
        generated_on=today,
        department=department,
        manager_employee_id=manager_employee_id,
        rows=rows,
        by_department=_summarise(rows, "department"),
        by_manager=_summarise(rows, "manager_employee_id"),
    )


def compliance_csv(report: ComplianceReport) -> str:
    """Render the report's rows as CSV text with a header line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in report.rows:
        values = row.model_dump(mode="json", include=set(CSV_COLUMNS))
        writer.writerow({key: "" if value is None else value for key, value in values.items()})
    return buffer.getvalue()
