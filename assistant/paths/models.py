"""Tables of the paths domain: the synced catalogue, cached embeddings, path versions and requests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class ItemKind(StrEnum):
    MANDATORY = "mandatory"
    RECOMMENDED = "recommended"
    # Added because another item of the path requires it first.
    PREREQUISITE = "prerequisite"
    # Added after a grade below `reinforce_below` on the same skill.
    REINFORCEMENT = "reinforcement"


class ItemStatus(StrEnum):
    PLANNED = "planned"
    ENROLLED = "enrolled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class EnrolmentState(StrEnum):
    NOT_REQUESTED = "not_requested"
    ENROLLED = "enrolled"
    ALREADY_ENROLLED = "already_enrolled"
    NO_MANUAL_ENROLMENT = "no_manual_enrolment"
    NO_MOODLE_ACCOUNT = "no_moodle_account"
    FAILED = "failed"


class RequestStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    # Finished, but some people got no path. `outcomes` gives the reason for each.
    PARTIAL = "partial"
    FAILED = "failed"


# One Moodle course as last synced, merged with its catalogue-file settings.
class PathCourse(SQLModel, table=True):
    __tablename__ = "paths_course"

    # Moodle's course id.
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    shortname: str = Field(max_length=255, index=True)
    fullname: str = Field(max_length=1000)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    category_name: str = Field(default="", max_length=255)
    idnumber: str = Field(default="", max_length=100)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    level: str | None = Field(default=None, max_length=16)
    prerequisites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    validity_months: int | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # SHA-256 of the embedded text; the index re-embeds a course only when this changes.
    content_hash: str = Field(max_length=64)
    # False once the course is gone from Moodle; kept so old path versions still resolve.
    active: bool = Field(default=True, index=True)
    synced_at: datetime = Field(default_factory=utcnow)


# One embedding vector, keyed by the SHA-256 of the embedded text and the model that made it.
class PathEmbedding(SQLModel, table=True):
    __tablename__ = "paths_embedding"

    content_hash: str = Field(primary_key=True, max_length=64)
    model: str = Field(primary_key=True, max_length=200)
    dimension: int
    # float32 values in machine-independent little-endian order.
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# One version of one person's path; a role change or a re-plan adds a version and keeps the old ones.
class LearningPath(SQLModel, table=True):
    __tablename__ = "paths_path"
    __table_args__ = (UniqueConstraint("employee_id", "version", name="uq_paths_path_employee_version"),)

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    version: int
    is_current: bool = Field(default=True, index=True)
    # Why this version exists: new_hire, role_change, recompute or request.
    reason: str = Field(max_length=32)
    job_title: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    division: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    # Where the required skills came from: configured, onet or none; and the role or occupation matched.
    role_source: str = Field(max_length=16)
    role_name: str | None = Field(default=None, max_length=300)
    role_match: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The date the plan was computed for; due dates and expiry are relative to it.
    as_of: date
    # SHA-256 of the builder's inputs; an equal hash means a re-plan would change nothing.
    inputs_hash: str = Field(max_length=64)
    gap_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    held_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Courses left out (completed, certified, skipped ahead), each with its reason.
    excluded: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    narrative: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


# One course of one path version, in order, with the reason it is there.
class LearningPathItem(SQLModel, table=True):
    __tablename__ = "paths_path_item"

    id: int | None = Field(default=None, primary_key=True)
    path_id: int = Field(foreign_key="paths_path.id", index=True)
    position: int
    course_id: int
    shortname: str = Field(max_length=255)
    title: str = Field(max_length=1000)
    kind: str = Field(max_length=16)
    level: str | None = Field(default=None, max_length=16)
    due_date: date | None = None
    # The date the course first entered this person's path; due dates count from it.
    assigned_on: date
    covered_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    similarity: float | None = None
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    reasons: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ItemStatus.PLANNED, max_length=16)
    grade: float | None = None
    enrolment: str = Field(default=EnrolmentState.NOT_REQUESTED, max_length=24)
    enrolment_detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    enrolled_at: datetime | None = None


# A request from the provisioning pipeline for the paths of a list of employees.
class PathRequest(SQLModel, table=True):
    __tablename__ = "paths_request"

    id: str = Field(primary_key=True, max_length=32)
    status: str = Field(default=RequestStatus.QUEUED, max_length=16, index=True)
    employee_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enrol: bool = True
    # employee_id -> {"status": "built" | "unchanged" | "failed", "path_id", "version", "error", ...}
    outcomes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
