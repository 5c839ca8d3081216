"""Result payloads that targets deliver, and the results API's response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class ActivityGrade(BaseModel):
    """A graded activity of a course, such as a quiz. `grade` None means Moodle shows no grade."""

    name: str
    module: str | None = None
    grade: float | None = None
    grade_max: float | None = None


class CompletionPayload(BaseModel):
    """A course completion as every target receives it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["course_completion"] = "course_completion"
    employee_id: str
    course_code: str
    course_name: str
    completed_at: datetime
    completed_on: date
    validity_months: int | None = None
    expires_on: date | None = None
    # Course total; None when Moodle showed no grade (never sent as 0).
    grade: float | None = None
    grade_max: float | None = None
    activities: list[ActivityGrade] = Field(default_factory=list)


class RoleplayPayload(BaseModel):
    """A finished roleplay attempt as every target receives it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["roleplay_attempt"] = "roleplay_attempt"
    employee_id: str
    attempt_id: str
    scenario_id: str
    scenario_title: str
    score: float
    max_score: float
    passed: bool
    finished_at: datetime
    finished_on: date


ResultPayload = Annotated[CompletionPayload | RoleplayPayload, Field(discriminator="kind")]
RESULT_PAYLOAD_ADAPTER: TypeAdapter[CompletionPayload | RoleplayPayload] = TypeAdapter(
    ResultPayload
)


class OutboxItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    target: str
    idempotency_key: str
    kind: str
    employee_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


class ComplianceRow(BaseModel):
    """One person's state on one mandatory course."""

    employee_id: str
    display_name: str
    department: str | None
    manager_employee_id: str | None
    course_code: str
    status: str
    completed_on: date | None
    expires_on: date | None


class ComplianceSummary(BaseModel):
    """Counts per status for one group (a department or a manager's team) on one course."""

    group: str | None
    course_code: str
    current: int = 0
    due_soon: int = 0
    expired: int = 0
    never_completed: int = 0


class ComplianceReport(BaseModel):
    generated_on: date
    department: str | None
    manager_employee_id: str | None
    rows: list[ComplianceRow]
    by_department: list[ComplianceSummary]
    by_manager: list[ComplianceSummary]
