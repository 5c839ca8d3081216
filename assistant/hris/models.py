"""Tables of the HR-source domain: where each source's incremental pull resumes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# One row per HR source: the cursor its next incremental pull starts from.
class HrisSyncState(SQLModel, table=True):
    __tablename__ = "hris_sync_state"

    source: str = Field(primary_key=True, max_length=64)
    cursor: str | None = Field(default=None, max_length=64)
    last_run_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
