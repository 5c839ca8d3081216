"""API models of the paths domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Requests with more people than this run in the background and respond with 202.
INLINE_REQUEST_LIMIT = 20
MAX_REQUEST_SIZE = 5000

_ITEM_EXAMPLE = {
    "position": 1,
    "course_id": 2,
    "shortname": "COC-101",
    "title": "Code of Conduct",
    "kind": "mandatory",
    "level": "introductory",
    "due_date": "2026-02-09",
    "assigned_on": "2026-01-01",
    "status": "enrolled",
    "grade": None,
    "enrolment": "enrolled",
    "enrolment_detail": None,
    "covered_skills": [],
    "similarity": None,
    "explanation": "Required by the mandatory rule 'company onboarding'. Due by 2026-02-09.",
}


class PathRequestCreate(BaseModel):
    """Employees who need a path, such as a batch of new hires from the provisioning pipeline."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"employee_ids": ["E0001", "E0002"], "enrol": True}]}
    )

    employee_ids: list[str] = Field(min_length=1, max_length=MAX_REQUEST_SIZE)
    # Enrol each person in the current stage of their path in Moodle.
    enrol: bool = True

    @field_validator("employee_ids")
    @classmethod
    def _clean_ids(cls, ids: list[str]) -> list[str]:
        cleaned = [employee_id.strip() for employee_id in ids]
        blank = [position for position, employee_id in enumerate(cleaned, start=1) if not employee_id]
        if blank:
            raise ValueError(f"employee_ids must not contain blank values (positions {blank})")
        return list(dict.fromkeys(cleaned))


class PersonOutcome(BaseModel):
    """The outcome of a path request for one person."""

    # built, unchanged or failed.
    status: str
    path_id: int | None = None
    version: int | None = None
    items: int | None = None
    enrolment: dict[str, str] = Field(default_factory=dict)
    error: str | None = None


class PathRequestRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0f6c3c8e9a3b4b5c8d7e6f5a4b3c2d1e",
                    "status": "partial",
                    "status_url": "/paths/requests/0f6c3c8e9a3b4b5c8d7e6f5a4b3c2d1e",
                    "total": 2,
                    "done": 2,
                    "outcomes": {
                        "E0001": {"status": "built", "path_id": 7, "version": 1, "items": 5,
                                  "enrolment": {"COC-101": "enrolled"}},
                        "E9999": {"status": "failed", "error": "no person with employee ID 'E9999'"},
                    },
                    "error": None,
                    "created_at": "2026-01-01T09:00:00Z",
                    "finished_at": "2026-01-01T09:00:02Z",
                }
            ]
        }
    )

    id: str
    status: str
    status_url: str
    total: int
    done: int
    outcomes: dict[str, PersonOutcome]
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class PathItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    position: int
    course_id: int
    shortname: str
    title: str
    kind: str
    level: str | None
    due_date: date | None
    assigned_on: date
    status: str
    grade: float | None
    enrolment: str
    enrolment_detail: str | None
    covered_skills: list[str]
    similarity: float | None
    explanation: str


class PathRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "employee_id": "E0001",
                    "version": 1,
                    "is_current": True,
                    "reason": "new_hire",
                    "job_title": "Area Sales Manager",
                    "department": "Sales",
                    "division": None,
                    "location": "MA",
                    "role_source": "configured",
                    "role_name": "Area Sales Manager",
                    "role_match": {"source": "configured", "match": "name", "similarity": 1.0},
                    "as_of": "2026-01-01",
                    "gap_skills": ["Sales", "Account Management"],
                    "held_skills": ["Negotiation"],
                    "excluded": [{"course": "NEG-201", "title": "Negotiation Skills", "reason": "completed on 2025-05-01"}],
                    "warnings": [],
                    "narrative": None,
                    "created_at": "2026-01-01T09:00:01Z",
                    "items": [_ITEM_EXAMPLE],
                }
            ]
        },
    )

    id: int
    employee_id: str
    version: int
    is_current: bool
    reason: str
    job_title: str | None
    department: str | None
    division: str | None
    location: str | None
    role_source: str
    role_name: str | None
    role_match: dict[str, Any]
    as_of: date
    gap_skills: list[str]
    held_skills: list[str]
    excluded: list[dict[str, Any]]
    warnings: list[str]
    narrative: str | None
    created_at: datetime
    items: list[PathItemRead]


class PathVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    is_current: bool
    reason: str
    job_title: str | None
    department: str | None
    as_of: date
    created_at: datetime


class TeamMemberPathRead(BaseModel):
    """One report of a manager and their current path; `path` is None until one is built."""

    employee_id: str
    job_title: str | None
    department: str | None
    manager_employee_id: str | None
    path: PathRead | None


class RecomputeRead(BaseModel):
    # False when the new plan equals the current version, which is returned as it was.
    changed: bool
    path: PathRead
