"""Tables of the provisioning domain: account links, runs and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class LinkedBy(StrEnum):
    """Way an employee was linked to their Moodle user: by creating it, or by matching idnumber or e-mail."""

    CREATED = "created"
    IDNUMBER = "idnumber"
    EMAIL = "email"


class RunStatus(StrEnum):
    RUNNING = "running"
    # A dry run that planned and changed nothing.
    PREVIEWED = "previewed"
    # The guard stopped the run before any Moodle write.
    REFUSED = "refused"
    SUCCEEDED = "succeeded"
    # Applied, but some items failed. The report lists them with reasons.
    PARTIAL = "partial"
    # An error stopped the run. The error column contains its message.
    FAILED = "failed"


# The link between one employee and their Moodle user, with the values last written to Moodle.
class ProvisioningAccount(SQLModel, table=True):
    __tablename__ = "provisioning_account"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: str = Field(max_length=64, unique=True, index=True)
    moodle_user_id: int = Field(unique=True, index=True)
    username: str = Field(max_length=100)
    # Moodle field name (custom fields as "profile_field_<shortname>") -> value last written.
    pushed_values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # SHA-256 of pushed_values: equal to the hash of today's HR values when HR changed nothing since.
    pushed_hash: str = Field(default="", max_length=64)
    suspended: bool = False
    linked_by: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# One sync run: a preview, an applied run, or a run the guard refused.
class ProvisioningRun(SQLModel, table=True):
    __tablename__ = "provisioning_run"

    id: str = Field(primary_key=True, max_length=32)
    source: str = Field(max_length=64)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = None
    dry_run: bool = False
    forced: bool = False
    status: str = Field(default=RunStatus.RUNNING, max_length=16, index=True)
    # Valid records the source returned, and whether it declared them the whole population.
    source_records: int = 0
    source_complete: bool = False
    # Plan action -> number of people, plus "failed" for items Moodle rejected.
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Plan items that need a person: conflicts, ambiguous matches, invalid records and failed writes.
    problems: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# One change made in Moodle: which field of which user, its old and new value, when and by which run.
class ProvisioningAudit(SQLModel, table=True):
    __tablename__ = "provisioning_audit"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, index=True)
    employee_id: str = Field(max_length=64, index=True)
    moodle_user_id: int | None = None
    action: str = Field(max_length=16)
    field: str = Field(default="", max_length=100)
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(default_factory=utcnow, index=True)
    source: str = Field(max_length=64)
