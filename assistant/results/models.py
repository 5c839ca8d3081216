"""Tables of the results domain: collected course state, grades, completions, roleplay
attempts, collection errors and the delivery outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class CompletionStatus(StrEnum):
    """Course completion as Moodle reports it for one enrolled user."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    # The course has no completion criteria, so nobody can ever complete it.
    NOT_CONFIGURED = "not_configured"
    NOT_ENROLLED = "not_enrolled"
    # The last read failed; `last_error` on the state row says why.
    UNKNOWN = "unknown"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    DEAD = "dead"


class ResultKind(StrEnum):
    COURSE_COMPLETION = "course_completion"
    ROLEPLAY_ATTEMPT = "roleplay_attempt"


# Last known state of one person in one Moodle course. The `completed` and `progress`
# flags from the user's course list decide whether the next run reads the course again.
class CourseState(SQLModel, table=True):
    __tablename__ = "results_course_state"
    __table_args__ = (
        UniqueConstraint("employee_id", "course_id", name="uq_results_course_state_person_course"),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    moodle_user_id: int
    course_id: int
    course_code: str = Field(max_length=100, index=True)
    course_name: str = Field(default="", max_length=255)
    status: str = Field(default=CompletionStatus.UNKNOWN, max_length=16)
    # Flags from core_enrol_get_users_courses at the last full read.
    seen_completed: bool | None = None
    seen_progress: float | None = None
    # Earliest time the current enrolment can have started: the enrolment start when the
    # caller knows it, else the last time the course was seen missing from the user's list.
    # A completion before it belongs to an earlier enrolment and does not count.
    enrolment_start: datetime | None = None
    # Last time the course was missing from the user's course list (unenrolled).
    unenrolled_seen_at: datetime | None = None
    # Completion time that counted (on or after the enrolment start), if any.
    completed_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_at: datetime = Field(default_factory=utcnow)


# One grade item of one person. `grade` is None when Moodle shows no grade
# ("unavailable"); it is never stored as 0 in that case.
class GradeRecord(SQLModel, table=True):
    __tablename__ = "results_grade"
    __table_args__ = (
        UniqueConstraint(
            "employee_id", "course_id", "item_id", name="uq_results_grade_person_item"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    course_id: int
    course_code: str = Field(max_length=100)
    item_id: int
    # "course" for the course total, "mod" for an activity, as Moodle names them.
    item_type: str = Field(max_length=16)
    item_module: str | None = Field(default=None, max_length=32)
    item_name: str | None = Field(default=None, max_length=255)
    cmid: int | None = None
    grade: float | None = None
    grade_max: float | None = None
    percent: float | None = None
    graded_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


# One course completion, kept for good: a later completion after re-enrolment is a new row.
class CourseCompletion(SQLModel, table=True):
    __tablename__ = "results_completion"
    __table_args__ = (
        UniqueConstraint(
            "employee_id",
            "course_code",
            "completed_at",
            name="uq_results_completion_person_course_time",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    course_id: int
    course_code: str = Field(max_length=100, index=True)
    course_name: str = Field(default="", max_length=255)
    completed_at: datetime
    # Certification validity from the course rules when the completion was recorded.
    validity_months: int | None = None
    expires_on: date | None = None
    # Course total; None when Moodle showed no grade.
    grade: float | None = None
    grade_max: float | None = None
    recorded_at: datetime = Field(default_factory=utcnow)


# One finished roleplay attempt and its score.
class RoleplayResult(SQLModel, table=True):
    __tablename__ = "results_roleplay_attempt"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str = Field(max_length=64, unique=True, index=True)
    employee_id: str = Field(max_length=64, index=True)
    scenario_id: str = Field(max_length=100)
    scenario_title: str = Field(default="", max_length=255)
    score: float
    max_score: float = 100.0
    passed: bool
    finished_at: datetime
    recorded_at: datetime = Field(default_factory=utcnow)


# A failure to read one person's course list or one course, recorded so the run goes on.
class CollectionError(SQLModel, table=True):
    __tablename__ = "results_collection_error"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, index=True)
    employee_id: str = Field(max_length=64, index=True)
    course_id: int | None = None
    # Which read failed: "courses", "completion" or "grades".
    stage: str = Field(max_length=16)
    error: str = Field(max_length=64)
    message: str = Field(sa_column=Column(Text, nullable=False))
    occurred_at: datetime = Field(default_factory=utcnow)


# One result waiting for, or done with, delivery to one target.
class OutboxItem(SQLModel, table=True):
    __tablename__ = "results_outbox"
    __table_args__ = (
        UniqueConstraint("target", "idempotency_key", name="uq_results_outbox_target_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=32, index=True)
    idempotency_key: str = Field(max_length=255)
    kind: str = Field(max_length=32)
    employee_id: str = Field(max_length=64, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    # Id of the record in the target system, such as a BambooHR training record id.
    external_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
