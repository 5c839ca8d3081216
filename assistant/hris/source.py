"""The interface every HR source implements, and the batch it returns.

A source turns one HR system's data into canonical `PersonRecord`s. Adding Workday,
SuccessFactors, Keka or Zoho People means writing one class with these two methods.
`assistant.hris.records.BatchBuilder` does the mapping, checks and de-duplication that all
sources share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from assistant.people.schemas import PersonRecord


@dataclass
class RejectedRow:
    """A row or record the source could not import, with the reason.

    `row` is the file's line number for files and the 1-based position in the response for APIs.
    `employee_id` is None when the row had no usable ID.
    """

    row: int
    employee_id: str | None
    reason: str


@dataclass
class SourceBatch:
    """The people one pull returned, plus everything that went wrong with the rest."""

    records: list[PersonRecord]
    rejected: list[RejectedRow]
    warnings: list[str]
    # True when the batch lists everyone, so that people missing from it have left.
    complete: bool
    # Where the next incremental pull starts; None when the source has no incremental pull.
    cursor: str | None = None
    # Employee IDs the source reports as deleted; the import marks them as leavers.
    removed: list[str] = field(default_factory=list)


class HRSource(Protocol):
    """One HR system as a supplier of person records."""

    name: str

    async def fetch_people(self) -> SourceBatch:
        """Pull everyone."""
        ...

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        """Pull the people changed since the cursor; sources without an incremental pull return everyone."""
        ...
