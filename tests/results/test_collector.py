"""The collector against the Moodle sandbox over loopback HTTP.

Fixture: user 4 (employee E0001) is enrolled in COC-101 (id 2, not complete), ITSEC-101
(id 3, complete, assign 85/100 + quiz 10/10 = 95/110) and SALES-301 (id 6, complete, 42/100).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from assistant.db import session_scope
from assistant.moodle.client import MoodleClient
from assistant.moodle.sandbox.app import DEFAULT_TOKEN, create_sandbox_app
from assistant.moodle.schemas import Enrolment, Unenrolment
from assistant.provisioning.models import ProvisioningAccount
from assistant.results.collector import Collector, TrackedAccount, tracked_accounts
from assistant.results.models import CollectionError, CompletionStatus, CourseCompletion, OutboxItem
from assistant.results.rules import StaticCourseRules
from assistant.results.service import course_states_for, grades_for
from tests.support import LiveServer

LEARNER = TrackedAccount(employee_id="E0001", moodle_user_id=4)
RULES = StaticCourseRules(validity={"ITSEC-101": 12})


@pytest.fixture
def moodle_url() -> Iterator[str]:
    with LiveServer(create_sandbox_app()) as server:
        yield server.url


@pytest.fixture
async def moodle(moodle_url: str) -> AsyncIterator[MoodleClient]:
    async with MoodleClient(moodle_url, DEFAULT_TOKEN, timeout=5.0, max_retries=0) as client:
        yield client


def _admin(moodle_url: str, name: str, body: dict[str, Any]) -> Any:
    response = httpx.post(f"{moodle_url}/_sandbox/{name}", json=body)
    response.raise_for_status()
    return response.json()


def _statuses(engine: Engine, employee_id: str = "E0001") -> dict[str, str]:
    with session_scope(engine) as session:
        return {
            state.course_code: state.status for state in course_states_for(session, employee_id)
        }


def _completions(engine: Engine) -> list[CourseCompletion]:
    with session_scope(engine) as session:
        return list(session.exec(select(CourseCompletion).order_by(CourseCompletion.course_code)))


def _collector(moodle: MoodleClient) -> Collector:
    return Collector(moodle, targets=["bamboohr"], rules=RULES)


class TestCollect:
    async def test_completions_grades_and_outbox(
        self, engine: Engine, moodle: MoodleClient
    ) -> None:
        report = await _collector(moodle).collect(engine, [LEARNER])

        assert report.courses_read == 3
        assert report.completions_recorded == 2
        assert _statuses(engine) == {
            "COC-101": "incomplete",
            "ITSEC-101": "complete",
            "SALES-301": "complete",
        }
        itsec, sales = _completions(engine)
        assert itsec.course_code == "ITSEC-101"
        assert (itsec.grade, itsec.grade_max) == (95.0, 110.0)
        assert itsec.completed_at == datetime.fromtimestamp(1796414025, tz=UTC)
        assert itsec.validity_months == 12
        assert itsec.expires_on is not None
        assert sales.expires_on is None
        with session_scope(engine) as session:
            rows = list(session.exec(select(OutboxItem)))
        assert len(rows) == 2
        quiz = next(
            activity for activity in rows[0].payload["activities"] if activity["module"] == "quiz"
        )
        assert (quiz["grade"], quiz["grade_max"]) == (10.0, 10.0)

    async def test_activity_and_course_grades_are_stored(
        self, engine: Engine, moodle: MoodleClient
    ) -> None:
        await _collector(moodle).collect(engine, [LEARNER])

        with session_scope(engine) as session:
            grades = {
                (grade.course_code, grade.item_type, grade.item_module): grade
                for grade in grades_for(session, "E0001")
            }
        assert grades[("ITSEC-101", "mod", "assign")].grade == 85.0
        assert grades[("ITSEC-101", "course", None)].grade_max == 110.0
        assert grades[("COC-101", "course", None)].grade is None

    async def test_unchanged_courses_are_skipped(
        self, engine: Engine, moodle: MoodleClient, moodle_url: str
    ) -> None:
        await _collector(moodle).collect(engine, [LEARNER])

        unchanged = await _collector(moodle).collect(engine, [LEARNER])
        _admin(moodle_url, "activity-completion", {"userid": 4, "cmid": 6, "state": 1})
        changed = await _collector(moodle).collect(engine, [LEARNER])

        assert (unchanged.courses_read, unchanged.courses_skipped) == (0, 3)
        assert (changed.courses_read, changed.courses_skipped) == (1, 2)
        assert changed.completions_recorded == 1
        assert _statuses(engine)["COC-101"] == "complete"

    async def test_reenrolment_does_not_reuse_old_completion(
        self, engine: Engine, moodle: MoodleClient
    ) -> None:
        await _collector(moodle).collect(engine, [LEARNER])
        await moodle.unenrol_users([Unenrolment(user_id=4, course_id=3)])
        await _collector(moodle).collect(engine, [LEARNER])
        unenrolled = _statuses(engine)["ITSEC-101"]

        await moodle.enrol_users([Enrolment(user_id=4, course_id=3)])
        again = await _collector(moodle).collect(engine, [LEARNER])

        assert unenrolled == CompletionStatus.NOT_ENROLLED
        assert _statuses(engine)["ITSEC-101"] == CompletionStatus.INCOMPLETE
        assert again.completions_recorded == 0
        assert [completion.course_code for completion in _completions(engine)] == [
            "ITSEC-101",
            "SALES-301",
        ]

    async def test_course_without_criteria_is_not_configured(
        self, engine: Engine, moodle: MoodleClient, moodle_url: str
    ) -> None:
        [course_id] = _admin(
            moodle_url, "courses", {"courses": [{"shortname": "BARE-1", "fullname": "No criteria"}]}
        )["ids"]
        await moodle.enrol_users([Enrolment(user_id=4, course_id=course_id)])

        await _collector(moodle).collect(engine, [LEARNER])

        assert _statuses(engine)["BARE-1"] == "not_configured"

    async def test_grade_error_is_recorded_and_run_goes_on(
        self, engine: Engine, moodle: MoodleClient, moodle_url: str
    ) -> None:
        _admin(
            moodle_url,
            "faults",
            {
                "mode": "exception",
                "function": "gradereport_user_get_grade_items",
                "params": {"courseid": "3"},
                "exception": {
                    "exception": "moodle_exception",
                    "errorcode": "nopermissiontoviewgrades",
                    "message": "Hidden",
                },
            },
        )

        report = await _collector(moodle).collect(engine, [LEARNER])

        assert report.errors == 1
        assert report.completions_recorded == 2
        with session_scope(engine) as session:
            [error] = list(session.exec(select(CollectionError)))
            itsec = next(
                state
                for state in course_states_for(session, "E0001")
                if state.course_code == "ITSEC-101"
            )
        assert (error.stage, error.course_id) == ("grades", 3)
        assert itsec.last_error is not None
        # The overview still contains the course total, so the grade is kept, and it is never 0.
        assert next(c for c in _completions(engine) if c.course_code == "ITSEC-101").grade == 95.0

    async def test_unknown_user_error_is_per_person(
        self, engine: Engine, moodle: MoodleClient
    ) -> None:
        ghost = TrackedAccount(employee_id="E9999", moodle_user_id=999999)

        report = await _collector(moodle).collect(engine, [ghost, LEARNER])

        assert report.errors == 1
        assert report.completions_recorded == 2
        with session_scope(engine) as session:
            [error] = list(session.exec(select(CollectionError)))
        assert (error.employee_id, error.stage) == ("E9999", "courses")

    async def test_failed_completion_read_is_retried_next_run(
        self, engine: Engine, moodle: MoodleClient, moodle_url: str
    ) -> None:
        _admin(
            moodle_url,
            "faults",
            {
                "mode": "status",
                "status": 503,
                "function": "core_completion_get_course_completion_status",
                "params": {"courseid": "6"},
            },
        )

        first = await _collector(moodle).collect(engine, [LEARNER])
        second = await _collector(moodle).collect(engine, [LEARNER])

        assert first.errors == 1
        assert _statuses(engine)["SALES-301"] == "complete"
        assert (second.courses_read, second.completions_recorded) == (1, 1)

    async def test_tracked_accounts_come_from_provisioning(
        self, engine: Engine, moodle: MoodleClient
    ) -> None:
        with session_scope(engine) as session:
            session.add(
                ProvisioningAccount(
                    employee_id="E0001",
                    moodle_user_id=4,
                    username="lab.learner1",
                    linked_by="idnumber",
                )
            )
        with session_scope(engine) as session:
            accounts = tracked_accounts(session)

        report = await _collector(moodle).collect(engine)

        assert accounts == [LEARNER]
        assert report.people == 1
        assert report.completions_recorded == 2
