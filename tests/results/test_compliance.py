from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.people.models import Person, PersonStatus
from assistant.people.service import PersonNotFound
from assistant.results.certifications import expiry_date
from assistant.results.compliance import compliance_csv, compliance_report
from assistant.results.models import CourseCompletion
from assistant.results.rules import StaticCourseRules

TODAY = date(2026, 6, 15)
RULES = StaticCourseRules(
    validity={"COC-101": 12},
    mandatory_for_all=["COC-101"],
    mandatory_by_department={"Sales": ["NEG-201"]},
)


def _person(
    employee_id: str, department: str, manager: str | None, status: str = PersonStatus.ACTIVE
) -> Person:
    return Person(
        employee_id=employee_id,
        display_name=f"Person {employee_id}",
        department=department,
        manager_employee_id=manager,
        status=status,
    )


def _completion(employee_id: str, course_code: str, completed: date) -> CourseCompletion:
    months = RULES.validity_months(course_code)
    return CourseCompletion(
        employee_id=employee_id,
        course_id=1,
        course_code=course_code,
        course_name=course_code,
        completed_at=datetime(completed.year, completed.month, completed.day, 10, tzinfo=UTC),
        validity_months=months,
        expires_on=expiry_date(completed, months),
    )


@pytest.fixture
def staffed(engine: Engine) -> Engine:
    """M1 manages S1, S2 (Sales) and E1 (Engineering); L1 left the company."""
    with session_scope(engine) as session:
        session.add_all(
            [
                _person("M1", "Management", None),
                _person("S1", "Sales", "M1"),
                _person("S2", "Sales", "M1"),
                _person("E1", "Engineering", "M1"),
                _person("L1", "Sales", "M1", status=PersonStatus.LEAVER),
            ]
        )
        session.add_all(
            [
                _completion("S1", "COC-101", date(2026, 1, 10)),  # current until 2027-01-10
                _completion("S1", "NEG-201", date(2025, 1, 10)),  # no validity: current
                _completion("S2", "COC-101", date(2025, 7, 1)),  # due soon: expires 2026-07-01
                _completion("E1", "COC-101", date(2025, 5, 1)),  # expired on 2026-05-01
            ]
        )
    return engine


def _statuses(report_rows: list) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
    return {(row.employee_id, row.course_code): row.status for row in report_rows}


class TestComplianceReport:
    def test_buckets_per_person_and_course(self, staffed: Engine) -> None:
        with session_scope(staffed) as session:
            report = compliance_report(session, RULES, on=TODAY)

        assert _statuses(report.rows) == {
            ("E1", "COC-101"): "expired",
            ("M1", "COC-101"): "never_completed",
            ("S1", "COC-101"): "current",
            ("S1", "NEG-201"): "current",
            ("S2", "COC-101"): "due_soon",
            ("S2", "NEG-201"): "never_completed",
        }

    def test_leavers_are_out_of_scope(self, staffed: Engine) -> None:
        with session_scope(staffed) as session:
            report = compliance_report(session, RULES, on=TODAY)

        assert "L1" not in {row.employee_id for row in report.rows}

    def test_department_filter_and_summary(self, staffed: Engine) -> None:
        with session_scope(staffed) as session:
            report = compliance_report(session, RULES, department="sales", on=TODAY)

        assert {row.employee_id for row in report.rows} == {"S1", "S2"}
        summary = {(entry.group, entry.course_code): entry for entry in report.by_department}
        assert summary[("Sales", "COC-101")].current == 1
        assert summary[("Sales", "COC-101")].due_soon == 1
        assert summary[("Sales", "NEG-201")].never_completed == 1

    def test_manager_summary_counts_team(self, staffed: Engine) -> None:
        with session_scope(staffed) as session:
            report = compliance_report(session, RULES, manager_employee_id="M1", on=TODAY)

        [coc] = [entry for entry in report.by_manager if entry.course_code == "COC-101"]
        assert coc.group == "M1"
        assert (coc.current, coc.due_soon, coc.expired, coc.never_completed) == (1, 1, 1, 0)

    def test_unknown_manager_is_not_found(self, staffed: Engine) -> None:
        with session_scope(staffed) as session, pytest.raises(PersonNotFound, match="'X9'"):
            compliance_report(session, RULES, manager_employee_id="X9", on=TODAY)

    def test_csv_has_one_line_per_row(self, staffed: Engine) -> None:
        with session_scope(staffed) as session:
            report = compliance_report(session, RULES, on=TODAY)

        rows = list(csv.DictReader(io.StringIO(compliance_csv(report))))

        assert len(rows) == len(report.rows)
        expired = next(row for row in rows if row["employee_id"] == "E1")
        assert expired["status"] == "expired"
        assert expired["expires_on"] == "2026-05-01"
        assert next(row for row in rows if row["employee_id"] == "M1")["completed_on"] == ""
