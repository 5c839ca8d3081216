"""Tables of the people domain: the canonical person record and its change history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class PersonStatus(StrEnum):
    ACTIVE = "active"
    LEAVER = "leaver"


# Fields of the person record that HR sources feed and history tracks.
TRACKED_FIELDS = (
    "given_name",
    "family_name",
    "display_name",
    "email",
    "job_title",
    "department",
    "division",
    "location",
    "manager_employee_id",
    "hire_date",
    "termination_date",
    "status",
    "extra",
)


# One employee as HR knows them; employee_id is the permanent key every system matches on.
class Person(SQLModel, table=True):
    __tablename__ = "people_person"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, unique=True, index=True)
    given_name: str = Field(default="", max_length=200)
    family_name: str = Field(default="", max_length=200)
    display_name: str = Field(default="", max_length=400)
    email: str | None = Field(default=None, max_length=320, index=True)
    job_title: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    division: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    manager_employee_id: str | None = Field(default=None, max_length=64, index=True)
    hire_date: date | None = None
    termination_date: date | None = None
    status: str = Field(default=PersonStatus.ACTIVE, max_length=16, index=True)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def is_active(self) -> bool:
        return self.status == PersonStatus.ACTIVE


# One changed field of one person: what it was, what it became, when and through which source and run.
class PersonChange(SQLModel, table=True):
    __tablename__ = "people_person_change"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, index=True)
    field: str = Field(max_length=64)
    before: str | None = None
    after: str | None = None
    source: str = Field(default="", max_length=64)
    run_id: str | None = Field(default=None, max_length=64)
    changed_at: datetime = Field(default_factory=utcnow, index=True)
