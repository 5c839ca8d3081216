"""Collecting course completions and grades from Moodle, and roleplay attempts.

The collector reads each tracked person's course list first. Its `completed` and
`progress` flags decide which courses need a full read: a course whose flags match the
last full read is skipped. A full read fetches the completion status and the grade
items. Rules that keep HR's record right:

- A completion counts only when its time is on or after the start of the current
  enrolment, so a person who was unenrolled and enrolled again is not reported
  complete from the earlier run.
- "Not configured" (no completion criteria) and "not enrolled" stay distinct statuses
  and are never turned into "incomplete".
- A grade Moodle cannot show is None ("unavailable"), never 0.
- A failure for one person or one course is stored as a `CollectionError` and the run
  goes on. Only `MoodleConfigError` (bad token, missing capability) stops the run,
  because every later call would fail the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assistant.db import session_scope
from assistant.moodle.exceptions import MoodleConfigError, MoodleError
from assistant.moodle.schemas import CourseCompletion as MoodleCompletion
from assistant.moodle.schemas import CourseGrade, GradeItem, UserCourse, UserGrades
from assistant.provisioning.models import ProvisioningAccount
from assistant.results.certifications import expiry_date
from assistant.results.models import (
    CollectionError,
    CompletionStatus,
    CourseCompletion,
    CourseState,
    GradeRecord,
    RoleplayResult,
    utcnow,
)
from assistant.results.rules import CourseRules
from assistant.results.schemas import ActivityGrade
from assistant.results.service import record_completion, record_roleplay_result

log = structlog.get_logger()

# (employee_id, Moodle course id) -> start of the current enrolment, when the caller knows it.
EnrolmentStartLookup = Callable[[str, int], datetime | None]


class MoodleReader(Protocol):
    """The Moodle reads the collector needs; `assistant.moodle.client.MoodleClient` provides them."""

    async def get_user_courses(self, user_id: int) -> list[UserCourse]: ...

    async def get_course_completion(self, course_id: int, user_id: int) -> MoodleCompletion: ...

    async def get_grade_items(self, course_id: int, user_id: int) -> UserGrades: ...

    async def get_course_grades_overview(self, user_id: int) -> list[CourseGrade]: ...


@dataclass(frozen=True)
class TrackedAccount:
    employee_id: str
    moodle_user_id: int


class FinishedAttempt(Protocol):
    """A finished roleplay attempt as `assistant.roleplay.service.finished_attempts` lists it."""

    attempt_id: str
    employee_id: str
    scenario_id: str
    scenario_title: str
    score: float
    max_score: float
    passed: bool
    finished_at: datetime


@dataclass
class CollectionReport:
    run_id: str
    people: int = 0
    courses_read: int = 0
    courses_skipped: int = 0
    completions_recorded: int = 0
    errors: int = 0


@dataclass(frozen=True)
class _GradeRead:
    total: float | None
    total_max: float | None
    items: list[GradeItem]
    course_total_item: GradeItem | None


def tracked_accounts(session: Session) -> list[TrackedAccount]:
    """List every person linked to a Moodle user, suspended accounts included.

    Suspended accounts stay in so that a leaver's last completions still reach HR.
    """
    query = select(ProvisioningAccount).order_by(col(ProvisioningAccount.employee_id))
    return [
        TrackedAccount(account.employee_id, account.moodle_user_id)
        for account in session.exec(query)
    ]


class Collector:
    def __init__(
        self,
        moodle: MoodleReader,
        *,
        targets: Sequence[str],
        rules: CourseRules | None = None,
        enrolment_starts: EnrolmentStartLookup | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._moodle = moodle
        self._targets = list(targets)
        self._rules = rules
        self._enrolment_starts = enrolment_starts
        self._clock = clock

    async def collect(
        self, engine: Engine, accounts: Iterable[TrackedAccount] | None = None
    ) -> CollectionReport:
        """Collect for the given people (default: every tracked account), one transaction per person."""
        report = CollectionReport(run_id=uuid.uuid4().hex)
        if accounts is None:
            with session_scope(engine) as session:
                accounts = tracked_accounts(session)

        log.info("results.collect.started", run_id=report.run_id, targets=self._targets)
        for account in accounts:
            with session_scope(engine) as session:
                await self.collect_person(session, account, report)
        log.info(
            "results.collect.finished",
            run_id=report.run_id,
            people=report.people,
            courses_read=report.courses_read,
            courses_skipped=report.courses_skipped,
            completions=report.completions_recorded,
            errors=report.errors,
        )
        return report

    async def collect_person(
        self, session: Session, account: TrackedAccount, report: CollectionReport
    ) -> None:
        """Collect one person's courses into the session; the caller commits.

        Raises MoodleConfigError, which stops the run; other Moodle errors are recorded.
        """
        report.people += 1
        try:
            courses = await self._moodle.get_user_courses(account.moodle_user_id)
        except MoodleConfigError:
            log.error(
                "results.collect.config_error",
                run_id=report.run_id,
                employee_id=account.employee_id,
            )
            raise
        except MoodleError as exc:
            self._record_error(session, report, account, None, "courses", exc)
            return

        now = self._clock()
        states = self._load_states(session, account.employee_id)
        self._mark_unenrolled(states.values(), {course.id for course in courses}, now)

        for course in courses:
            state = self._state_for(session, states, account, course)
            if not self._needs_read(state, course):
                report.courses_skipped += 1
                continue
            await self._read_course(session, account, course, state, report)

    def _load_states(self, session: Session, employee_id: str) -> dict[int, CourseState]:
        query = select(CourseState).where(col(CourseState.employee_id) == employee_id)
        return {state.course_id: state for state in session.exec(query)}

    def _mark_unenrolled(
        self, states: Iterable[CourseState], enrolled_ids: set[int], now: datetime
    ) -> None:
        for state in states:
            if state.course_id in enrolled_ids:
                continue
            if state.status != CompletionStatus.NOT_ENROLLED:
                log.info(
                    "results.collect.unenrolled",
                    employee_id=state.employee_id,
                    course_id=state.course_id,
                )
            state.status = CompletionStatus.NOT_ENROLLED
            state.unenrolled_seen_at = now
            state.seen_completed = None
            state.seen_progress = None
            state.completed_at = None
            state.checked_at = now

    def _state_for(
        self,
        session: Session,
        states: dict[int, CourseState],
        account: TrackedAccount,
        course: UserCourse,
    ) -> CourseState:
        state = states.get(course.id)
        if state is None:
            state = CourseState(
                employee_id=account.employee_id,
                moodle_user_id=account.moodle_user_id,
                course_id=course.id,
                course_code=course.shortname,
                course_name=course.fullname[:255],
            )
            session.add(state)
            states[course.id] = state
        elif state.status == CompletionStatus.NOT_ENROLLED:
            # Enrolled again: the new enrolment began after the course was last seen missing.
            state.enrolment_start = _latest(state.enrolment_start, state.unenrolled_seen_at)
            state.status = CompletionStatus.UNKNOWN
            log.info(
                "results.collect.reenrolled", employee_id=account.employee_id, course_id=course.id
            )

        if self._enrolment_starts is not None:
            known = self._enrolment_starts(account.employee_id, course.id)
            state.enrolment_start = _latest(state.enrolment_start, known)
        state.moodle_user_id = account.moodle_user_id
        return state

    @staticmethod
    def _needs_read(state: CourseState, course: UserCourse) -> bool:
        if state.status == CompletionStatus.UNKNOWN or state.last_error:
            return True
        return state.seen_completed != course.completed or state.seen_progress != course.progress

    async def _read_course(
        self,
        session: Session,
        account: TrackedAccount,
        course: UserCourse,
        state: CourseState,
        report: CollectionReport,
    ) -> None:
        report.courses_read += 1
        now = self._clock()
        state.checked_at = now
        try:
            completion = await self._moodle.get_course_completion(course.id, account.moodle_user_id)
        except MoodleConfigError:
            raise
        except MoodleError as exc:
            state.status = CompletionStatus.UNKNOWN
            state.last_error = f"{type(exc).__name__}: {exc.message}"
            self._record_error(session, report, account, course.id, "completion", exc)
            return

        grades, grade_error = await self._read_grades(session, account, course, report)
        status, counted_at = self._completion_outcome(account, completion, state, now)

        state.status = status
        state.completed_at = counted_at
        state.seen_completed = course.completed
        state.seen_progress = course.progress
        state.last_error = grade_error
        if grades.items or grades.course_total_item:
            self._store_grades(session, account, course, grades, now)
        if counted_at is not None:
            self._record_completion(session, account, course, counted_at, grades, report)

    def _completion_outcome(
        self,
        account: TrackedAccount,
        completion: MoodleCompletion,
        state: CourseState,
        now: datetime,
    ) -> tuple[CompletionStatus, datetime | None]:
        status = CompletionStatus(completion.status)
        if status != CompletionStatus.COMPLETE:
            return status, None

        completed_at = completion.time_completed
        if completed_at is None:
            # Moodle reported the course complete without a criterion time, so the time of reading is used.
            log.warning(
                "results.collect.completion_time_missing",
                employee_id=account.employee_id,
                course_id=state.course_id,
            )
            completed_at = now
        if state.enrolment_start is not None and completed_at < state.enrolment_start:
            log.info(
                "results.collect.completion_before_enrolment",
                employee_id=account.employee_id,
                course_id=state.course_id,
            )
            return CompletionStatus.INCOMPLETE, None
        return CompletionStatus.COMPLETE, completed_at

    async def _read_grades(
        self,
        session: Session,
        account: TrackedAccount,
        course: UserCourse,
        report: CollectionReport,
    ) -> tuple[_GradeRead, str | None]:
        """Read grade items; on failure fall back to the overview's course total, else "unavailable"."""
        try:
            grades = await self._moodle.get_grade_items(course.id, account.moodle_user_id)
        except MoodleConfigError:
            raise
        except MoodleError as exc:
            self._record_error(session, report, account, course.id, "grades", exc)
            total = await self._overview_total(account, course.id)
            return _GradeRead(total, None, [], None), f"{type(exc).__name__}: {exc.message}"

        total_item = grades.course_total
        total = total_item.grade if total_item else None
        total_max = total_item.grade_max if total_item else None
        return _GradeRead(total, total_max, grades.items, total_item), None

    async def _overview_total(self, account: TrackedAccount, course_id: int) -> float | None:
        try:
            overview = await self._moodle.get_course_grades_overview(account.moodle_user_id)
        except MoodleConfigError:
            raise
        except MoodleError as exc:
            log.warning(
                "results.collect.grade_unavailable",
                employee_id=account.employee_id,
                course_id=course_id,
                error=type(exc).__name__,
            )
            return None
        return next((entry.grade for entry in overview if entry.course_id == course_id), None)

    def _store_grades(
        self,
        session: Session,
        account: TrackedAccount,
        course: UserCourse,
        grades: _GradeRead,
        now: datetime,
    ) -> None:
        query = select(GradeRecord).where(
            col(GradeRecord.employee_id) == account.employee_id,
            col(GradeRecord.course_id) == course.id,
        )
        stored = {record.item_id: record for record in session.exec(query)}
        items = [*grades.items, *([grades.course_total_item] if grades.course_total_item else [])]
        for item in items:
            record = stored.get(item.id) or GradeRecord(
                employee_id=account.employee_id,
                course_id=course.id,
                course_code=course.shortname,
                item_id=item.id,
                item_type=item.itemtype,
            )
            record.item_type = item.itemtype
            record.item_module = item.itemmodule
            record.item_name = (item.itemname or "")[:255] or None
            record.cmid = item.cmid
            record.grade = item.grade
            record.grade_max = item.grade_max
            record.percent = item.percentage
            record.graded_at = item.date_graded
            record.updated_at = now
            session.add(record)

    def _record_completion(
        self,
        session: Session,
        account: TrackedAccount,
        course: UserCourse,
        completed_at: datetime,
        grades: _GradeRead,
        report: CollectionReport,
    ) -> None:
        months = self._rules.validity_months(course.shortname) if self._rules else None
        completion = CourseCompletion(
            employee_id=account.employee_id,
            course_id=course.id,
            course_code=course.shortname,
            course_name=course.fullname[:255],
            completed_at=completed_at,
            validity_months=months,
            expires_on=expiry_date(completed_at.date(), months),
            grade=grades.total,
            grade_max=grades.total_max,
        )
        activities = [
            ActivityGrade(
                name=item.itemname or f"{item.itemmodule} {item.cmid}",
                module=item.itemmodule,
                grade=item.grade,
                grade_max=item.grade_max,
            )
            for item in grades.items
        ]
        if (
            record_completion(session, completion, targets=self._targets, activities=activities)
            is not None
        ):
            report.completions_recorded += 1

    def _record_error(
        self,
        session: Session,
        report: CollectionReport,
        account: TrackedAccount,
        course_id: int | None,
        stage: str,
        exc: MoodleError,
    ) -> None:
        report.errors += 1
        session.add(
            CollectionError(
                run_id=report.run_id,
                employee_id=account.employee_id,
                course_id=course_id,
                stage=stage,
                error=type(exc).__name__,
                message=exc.message,
            )
        )
        log.warning(
            "results.collect.item_failed",
            run_id=report.run_id,
            employee_id=account.employee_id,
            course_id=course_id,
            stage=stage,
            error=type(exc).__name__,
            errorcode=exc.errorcode,
        )


def record_roleplay_attempts(
    session: Session,
    attempts: Iterable[FinishedAttempt],
    *,
    targets: Sequence[str],
) -> int:
    """Record finished roleplay attempts not recorded before; returns how many were new. The caller commits."""
    known = set(session.exec(select(RoleplayResult.attempt_id)))
    recorded = 0
    for attempt in attempts:
        if attempt.attempt_id in known:
            continue
        result = RoleplayResult(
            attempt_id=attempt.attempt_id,
            employee_id=attempt.employee_id,
            scenario_id=attempt.scenario_id,
            scenario_title=attempt.scenario_title[:255],
            score=attempt.score,
            max_score=attempt.max_score,
            passed=attempt.passed,
            finished_at=attempt.finished_at,
        )
        if record_roleplay_result(session, result, targets=targets) is not None:
            known.add(attempt.attempt_id)
            recorded += 1
    return recorded


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
