"""Tables of the roleplay domain: attempts, their turns, scores and managers' review notes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_attempt_id() -> str:
    # Random, so that session URLs cannot be guessed from one another.
    return uuid4().hex


class AttemptStatus(StrEnum):
    ACTIVE = "active"
    # An end condition was reached (agreement or the turn limit); no more turns, not yet scored.
    CLOSED = "closed"
    SCORED = "scored"


class EndReason(StrEnum):
    AGREEMENT = "agreement"
    MAX_TURNS = "max_turns"
    ENDED_BY_LEARNER = "ended_by_learner"


# One practice session of one learner in one scenario version.
class RoleplayAttempt(SQLModel, table=True):
    __tablename__ = "roleplay_attempt"

    id: str = Field(default_factory=new_attempt_id, primary_key=True, max_length=32)
    employee_id: str = Field(max_length=64, index=True)
    scenario_id: str = Field(max_length=100, index=True)
    scenario_version: int
    scenario_title: str = Field(default="", max_length=255)
    provider: str = Field(max_length=32)
    model: str = Field(max_length=200)
    prompt_version: str = Field(max_length=64)
    status: str = Field(default=AttemptStatus.ACTIVE, max_length=16, index=True)
    end_reason: str | None = Field(default=None, max_length=32)
    learner_turns: int = 0
    # Sum of the persona calls' durations, including regenerations.
    model_ms_total: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


# One message of an attempt; n counts every message from 1 (the persona's opening line).
class RoleplayTurn(SQLModel, table=True):
    __tablename__ = "roleplay_turn"
    __table_args__ = (UniqueConstraint("attempt_id", "n", name="uq_roleplay_turn_attempt_n"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str = Field(sa_column=Column(String(32), ForeignKey("roleplay_attempt.id", ondelete="CASCADE"), nullable=False, index=True))
    n: int
    speaker: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # Model time for a persona turn, including regenerations; None for learner turns and the opening line.
    latency_ms: int | None = None
    regenerations: int = 0
    # True when every generated reply broke character and a scripted fallback line was sent.
    fallback_used: bool = False
    guard_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


# The score of an attempt; overall is None when the judge output needs a human review.
class RoleplayScore(SQLModel, table=True):
    __tablename__ = "roleplay_score"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str = Field(sa_column=Column(String(32), ForeignKey("roleplay_attempt.id", ondelete="CASCADE"), nullable=False, unique=True, index=True))
    overall: float | None = None
    passed: bool | None = None
    pass_mark: float
    criteria: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    metrics: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    injection_suspected: bool = False
    flagged_turns: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs_review: bool = False
    judge_provider: str = Field(max_length=32)
    judge_model: str = Field(max_length=200)
    prompt_version: str = Field(max_length=64)
    scoring_ms: int = 0
    created_at: datetime = Field(default_factory=utcnow)


# A manager's note on one attempt.
class RoleplayReview(SQLModel, table=True):
    __tablename__ = "roleplay_review"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str = Field(sa_column=Column(String(32), ForeignKey("roleplay_attempt.id", ondelete="CASCADE"), nullable=False, index=True))
    reviewer_employee_id: str = Field(max_length=64, index=True)
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
