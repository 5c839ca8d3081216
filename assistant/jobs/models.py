"""Tables of the jobs domain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# One row per finished probe job; the unique key makes a re-run after a worker crash a no-op.
class JobProbe(SQLModel, table=True):
    __tablename__ = "jobs_probe"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=64, index=True)
    key: str = Field(max_length=128, unique=True)
    # How many times the job body ran for this key; more than one means a retry after a crash.
    executions: int = 1
    done_at: datetime = Field(default_factory=utcnow)
