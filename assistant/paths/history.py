"""A person's learning history for the path builder.

Three sources, merged with the later ones winning per course:
1. the results domain's collected completions and grades (no network);
2. certifications HR carried over, in the person's `extra["certifications"]`;
3. a live read from Moodle, when a client is given and the person has a Moodle account.

Certifications in `extra` are a list of objects with `course` (shortname or idnumber)
and/or `skill`, and optional ISO dates `issued_on` and `expires_on`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

import structlog
from sqlmodel import Session

from assistant.moodle.schemas import CourseCompletion as MoodleCompletion
from assistant.moodle.schemas import CourseGrade, UserCourse, UserGrades
from assistant.paths.builder import Certification, CourseRecord, LearningHistory
from assistant.people.models import Person
from assistant.results.certifications import latest_completions
from assistant.results.service import course_states_for, grades_for

log = structlog.get_logger()

# Completion reads in flight per person; the Moodle client also caps its own concurrency.
MAX_PARALLEL_READS = 4


class MoodleLearningReader(Protocol):
    """The Moodle client calls a live history read needs."""

    async def get_user_courses(self, user_id: int) -> list[UserCourse]: ...

    async def get_course_completion(self, course_id: int, user_id: int) -> MoodleCompletion: ...

    async def get_course_grades_overview(self, user_id: int) -> list[CourseGrade]: ...

    async def get_grade_items(self, course_id: int, user_id: int) -> UserGrades: ...


def _utc_date(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


def _parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def certifications_from_person(person: Person) -> tuple[tuple[Certification, ...], list[str]]:
    """Read `extra["certifications"]`; return the valid entries and a warning per invalid one."""
    raw = (person.extra or {}).get("certifications") or []
    if not isinstance(raw, list):
        return (), [f"extra.certifications of {person.employee_id} is not a list and was ignored"]

    certifications: list[Certification] = []
    warnings: list[str] = []
    for position, entry in enumerate(raw, start=1):
        try:
            certifications.append(_certification(entry))
        except (TypeError, ValueError) as exc:
            warnings.append(f"certification #{position} of {person.employee_id} was ignored: {exc}")
    return tuple(certifications), warnings


def _certification(entry: Any) -> Certification:
    if not isinstance(entry, dict):
        raise TypeError("expected an object with 'course' or 'skill'")
    course = entry.get("course")
    skill = entry.get("skill")
    if not course and not skill:
        raise ValueError("it names neither 'course' nor 'skill'")
    return Certification(
        course_key=str(course) if course else None,
        skill=str(skill) if skill else None,
        issued_on=_parse_date(entry.get("issued_on")),
        expires_on=_parse_date(entry.get("expires_on")),
    )


def history_from_results(session: Session, employee_id: str) -> dict[str, CourseRecord]:
    """Build course records from the results domain's collected states, completions and grades."""
    records: dict[str, CourseRecord] = {}
    for state in course_states_for(session, employee_id):
        records[state.course_code] = CourseRecord(state.course_code, completed=False)

    percents = {
        grade.course_code: grade.percent
        for grade in grades_for(session, employee_id)
        if grade.item_type == "course" and grade.percent is not None
    }
    for (_, code), completion in latest_completions(session, [employee_id]).items():
        grade = percents.get(code)
        if grade is None and completion.grade is not None and completion.grade_max:
            grade = round(100 * completion.grade / completion.grade_max, 2)
        records[code] = CourseRecord(code, completed=True, completed_on=_utc_date(completion.completed_at), grade=grade)

    for code, percent in percents.items():
        record = records.get(code, CourseRecord(code, completed=False))
        records[code] = CourseRecord(code, record.completed, record.completed_on, percent)
    return records


async def history_from_moodle(moodle: MoodleLearningReader, user_id: int) -> dict[str, CourseRecord]:
    """Read the user's enrolled courses, completion dates and course totals (percent) from Moodle."""
    courses = await moodle.get_user_courses(user_id)
    if not courses:
        return {}
    overview = {grade.course_id: grade for grade in await moodle.get_course_grades_overview(user_id)}
    semaphore = asyncio.Semaphore(MAX_PARALLEL_READS)

    async def read(course: UserCourse) -> CourseRecord:
        async with semaphore:
            completed_on = None
            if course.completed:
                completion = await moodle.get_course_completion(course.id, user_id)
                completed_on = _utc_date(completion.time_completed)
            grade = None
            graded = overview.get(course.id)
            if graded is not None and graded.grade is not None:
                grade = _percent(await moodle.get_grade_items(course.id, user_id))
            return CourseRecord(course.shortname, bool(course.completed), completed_on, grade)

    records = await asyncio.gather(*(read(course) for course in courses))
    return {record.course_key: record for record in records}


def _percent(grades: UserGrades) -> float | None:
    total = grades.course_total
    if total is None or total.grade is None:
        return None
    if total.percentage is not None:
        return round(total.percentage, 2)
    if total.grade_max:
        low = total.grade_min or 0.0
        return round(100 * (total.grade - low) / (total.grade_max - low), 2)
    return None


def combine(
    *sources: dict[str, CourseRecord], certifications: Sequence[Certification] = ()
) -> LearningHistory:
    """Merge course records, later sources winning per course, into one history."""
    merged: dict[str, CourseRecord] = {}
    for source in sources:
        for key, record in source.items():
            earlier = merged.get(key)
            if earlier is not None and record.grade is None and earlier.grade is not None:
                record = CourseRecord(record.course_key, record.completed, record.completed_on or earlier.completed_on, earlier.grade)
            merged[key] = record
    ordered = tuple(merged[key] for key in sorted(merged))
    return LearningHistory(records=ordered, certifications=tuple(certifications))
