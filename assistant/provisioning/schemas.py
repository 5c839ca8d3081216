"""The plan, the run report and the API views of the provisioning domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.provisioning.guard import GuardVerdict
from assistant.provisioning.models import LinkedBy


class PlanAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    SUSPEND = "suspend"
    REACTIVATE = "reactivate"
    UNCHANGED = "unchanged"
    # Several Moodle users carry the employee's idnumber; they are reported and left alone.
    CONFLICT = "conflict"
    # No idnumber match, and the e-mail matches several users or a user with another idnumber.
    AMBIGUOUS = "ambiguous"
    # Nothing to do on purpose, for example a leaver who never had a Moodle account.
    SKIP = "skip"
    # The person lacks data Moodle requires (names, e-mail), so no account can be created.
    INVALID = "invalid"


# Actions that write to Moodle when a run is applied.
WRITE_ACTIONS = frozenset({PlanAction.CREATE, PlanAction.UPDATE, PlanAction.SUSPEND, PlanAction.REACTIVATE})
# Actions that need a person to look at them.
PROBLEM_ACTIONS = frozenset({PlanAction.CONFLICT, PlanAction.AMBIGUOUS, PlanAction.INVALID})

Outcome = Literal["planned", "applied", "failed"]


class FieldChange(BaseModel):
    """One Moodle field the plan changes. Custom profile fields are named `profile_field_<shortname>`."""

    field: str
    before: str | None = None
    after: str | None = None


class PlanItem(BaseModel):
    """The change a run plans, or made, to one employee's Moodle account."""

    employee_id: str
    action: PlanAction
    moodle_user_id: int | None = None
    username: str | None = None
    display_name: str = ""
    department: str | None = None
    changes: list[FieldChange] = Field(default_factory=list)
    # Set when this run links an existing Moodle user that the service had not linked before.
    link: LinkedBy | None = None
    # Why a suspend, skip, conflict, ambiguous or invalid item was planned.
    reason: str | None = None
    outcome: Outcome = "planned"
    # Why Moodle did not apply the item, when outcome is "failed".
    error: str | None = None


class RejectedRecord(BaseModel):
    """A source row that could not become a person record, and why.

    `row` is the file's line number for files and the 1-based position for APIs.
    """

    row: int
    employee_id: str | None = None
    reason: str


class ImportSummary(BaseModel):
    """Counts of the HR import into the people table that precedes the plan."""

    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Active people of a complete source missing from this batch, now leavers.
    marked_leavers: int = 0
    rejected: list[RejectedRecord] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class RunReport(BaseModel):
    """The outcome of one sync run: the plan, the guard's verdict and, when applied, each item's result."""

    run_id: str
    source: str
    status: str
    dry_run: bool
    forced: bool
    source_complete: bool
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    guard: GuardVerdict = Field(default_factory=GuardVerdict)
    people: ImportSummary = Field(default_factory=ImportSummary)
    items: list[PlanItem] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def failures(self) -> list[PlanItem]:
        return [item for item in self.items if item.outcome == "failed"]


class SyncRequest(BaseModel):
    """Body of `POST /sync/preview` and `POST /sync/runs`."""

    model_config = ConfigDict(extra="forbid")

    # "bamboohr" reads BambooHR with the configured settings; "csv" reads the CSV text in `csv`.
    source: Literal["csv", "bamboohr"]
    csv: str | None = Field(default=None, description="CSV export text, for source csv.")
    force: bool = Field(default=False, description="Apply even when the guard rejects the run.")


class RunRead(BaseModel):
    """A stored run, as `GET /sync/runs/{id}` returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    source: str
    status: str
    dry_run: bool
    forced: bool
    source_records: int
    source_complete: bool
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    problems: list[PlanItem]
    error: str | None


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: str
    employee_id: str
    moodle_user_id: int | None
    action: str
    field: str
    before: str | None
    after: str | None
    at: datetime
    source: str
