"""Recording results together with their outbox rows, and reading them back.

`record_completion` and `record_roleplay_result` add the result row and one outbox row
per target in the caller's transaction: both commit together or neither does. Recording
the same result again (same idempotency key) adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from sqlmodel import Session, col, select

from assistant.results import outbox
from assistant.results.models import (
    CourseCompletion,
    CourseState,
    GradeRecord,
    ResultKind,
    RoleplayResult,
)
from assistant.results.schemas import ActivityGrade, CompletionPayload, RoleplayPayload

log = structlog.get_logger()


def completion_key(employee_id: str, course_code: str, completed_at: datetime) -> str:
    """Build the stable idempotency key of a completion: person, course and completion time (UTC)."""
    moment = (
        completed_at.astimezone(UTC) if completed_at.tzinfo else completed_at.replace(tzinfo=UTC)
    )
    return f"completion:{employee_id}:{course_code}:{moment:%Y-%m-%dT%H:%M:%SZ}"


def roleplay_key(attempt_id: str) -> str:
    return f"roleplay:{attempt_id}"


def completion_payload(
    completion: CourseCompletion, activities: Sequence[ActivityGrade] = ()
) -> CompletionPayload:
    completed_at = completion.completed_at.astimezone(UTC)
    return CompletionPayload(
        employee_id=completion.employee_id,
        course_code=completion.course_code,
        course_name=completion.course_name,
        completed_at=completed_at,
        completed_on=completed_at.date(),
        validity_months=completion.validity_months,
        expires_on=completion.expires_on,
        grade=completion.grade,
        grade_max=completion.grade_max,
        activities=list(activities),
    )


def roleplay_payload(result: RoleplayResult) -> RoleplayPayload:
    finished_at = result.finished_at.astimezone(UTC)
    return RoleplayPayload(
        employee_id=result.employee_id,
        attempt_id=result.attempt_id,
        scenario_id=result.scenario_id,
        scenario_title=result.scenario_title,
        score=result.score,
        max_score=result.max_score,
        passed=result.passed,
        finished_at=finished_at,
        finished_on=finished_at.date(),
    )


def find_completion(
    session: Session, employee_id: str, course_code: str, completed_at: datetime
) -> CourseCompletion | None:
    query = select(CourseCompletion).where(
        col(CourseCompletion.employee_id) == employee_id,
        col(CourseCompletion.course_code) == course_code,
        col(CourseCompletion.completed_at) == completed_at,
    )
    return session.exec(query).first()


def record_completion(
    session: Session,
    completion: CourseCompletion,
    *,
    targets: Sequence[str],
    activities: Sequence[ActivityGrade] = (),
) -> CourseCompletion | None:
    """Add a completion and its outbox rows; return None when it was recorded before.

    The caller commits; a rollback removes the completion and its outbox rows together.
    """
    if find_completion(
        session, completion.employee_id, completion.course_code, completion.completed_at
    ):
        return None

    session.add(completion)
    session.flush()

    payload = completion_payload(completion, activities)
    outbox.enqueue(
        session,
        kind=ResultKind.COURSE_COMPLETION,
        key=completion_key(completion.employee_id, completion.course_code, completion.completed_at),
        employee_id=completion.employee_id,
        payload=payload.model_dump(mode="json"),
        targets=targets,
    )
    log.info(
        "results.completion.recorded",
        employee_id=completion.employee_id,
        course_code=completion.course_code,
        targets=list(targets),
    )
    return completion


def record_roleplay_result(
    session: Session,
    result: RoleplayResult,
    *,
    targets: Sequence[str],
) -> RoleplayResult | None:
    """Add a finished roleplay attempt and its outbox rows; return None when it was recorded before.

    The caller commits.
    """
    existing = session.exec(
        select(RoleplayResult).where(col(RoleplayResult.attempt_id) == result.attempt_id)
    ).first()
    if existing is not None:
        return None

    session.add(result)
    session.flush()

    outbox.enqueue(
        session,
        kind=ResultKind.ROLEPLAY_ATTEMPT,
        key=roleplay_key(result.attempt_id),
        employee_id=result.employee_id,
        payload=roleplay_payload(result).model_dump(mode="json"),
        targets=targets,
    )
    log.info(
        "results.roleplay.recorded",
        employee_id=result.employee_id,
        attempt_id=result.attempt_id,
        scenario_id=result.scenario_id,
        targets=list(targets),
    )
    return result


def grades_for(session: Session, employee_id: str) -> list[GradeRecord]:
    """List the person's collected grades; `grade` None means Moodle shows none."""
    query = (
        select(GradeRecord)
        .where(col(GradeRecord.employee_id) == employee_id)
        .order_by(col(GradeRecord.course_code), col(GradeRecord.item_id))
    )
    return list(session.exec(query))


def course_states_for(session: Session, employee_id: str) -> list[CourseState]:
    """List the person's last known completion status per Moodle course."""
    query = (
        select(CourseState)
        .where(col(CourseState.employee_id) == employee_id)
        .order_by(col(CourseState.course_code))
    )
    return list(session.exec(query))


def roleplay_results_for(session: Session, employee_id: str) -> list[RoleplayResult]:
    query = (
        select(RoleplayResult)
        .where(col(RoleplayResult.employee_id) == employee_id)
        .order_by(col(RoleplayResult.finished_at))
    )
    return list(session.exec(query))
