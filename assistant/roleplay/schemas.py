"""API models of the roleplay domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from assistant.roleplay.scenarios import Scenario


class CriterionRead(BaseModel):
    id: str
    description: str
    weight: float
    kind: str


class ScenarioRead(BaseModel):
    """What a learner sees of a scenario; the persona's hidden goals and agreement condition stay private."""

    id: str
    title: str
    version: int
    language: str
    learner_brief: str
    persona_name: str
    persona_role: str
    opening_line: str
    max_turns: int
    max_turn_chars: int
    pass_mark: float
    criteria: list[CriterionRead]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ScenarioRead:
        return cls(
            id=scenario.id,
            title=scenario.title,
            version=scenario.version,
            language=scenario.language,
            learner_brief=scenario.learner_brief,
            persona_name=scenario.persona.name,
            persona_role=scenario.persona.role,
            opening_line=scenario.opening_line,
            max_turns=scenario.end.max_turns,
            max_turn_chars=scenario.limits.max_turn_chars,
            pass_mark=scenario.rubric.pass_mark,
            criteria=[CriterionRead(id=c.id, description=c.description, weight=c.weight, kind=c.kind) for c in scenario.rubric.criteria],
        )


class SessionCreate(BaseModel):
    employee_id: str = Field(min_length=1, max_length=64)
    # Absent: the scenario that suits the learner's role and that they practised least.
    scenario_id: str | None = Field(default=None, max_length=100)


class TurnCreate(BaseModel):
    # Checked by the service, which names the limit: blank and overlong replies are rejected there.
    text: str


class TurnRead(BaseModel):
    n: int
    speaker: str
    text: str
    created_at: datetime
    latency_ms: int | None
    regenerations: int
    fallback_used: bool


class EvidenceRead(BaseModel):
    turn: int
    quote: str


class CriterionScoreRead(BaseModel):
    criterion_id: str
    kind: str
    verdict: str
    score: int | None
    points: float
    max_points: float
    evidence: list[EvidenceRead]
    supported: bool
    runs: list[int]
    dropped_quotes: int
    feedback: str


class ScoreRead(BaseModel):
    overall: float | None
    passed: bool | None
    pass_mark: float
    needs_review: bool
    injection_suspected: bool
    flagged_turns: list[int]
    criteria: list[CriterionScoreRead]
    metrics: dict[str, float]
    judge_provider: str
    judge_model: str
    prompt_version: str
    created_at: datetime


class ReviewCreate(BaseModel):
    reviewer_employee_id: str = Field(min_length=1, max_length=64)
    note: str = Field(max_length=10_000)


class ReviewRead(BaseModel):
    id: int
    reviewer_employee_id: str
    note: str
    created_at: datetime


class SessionRead(BaseModel):
    id: str
    employee_id: str
    scenario_id: str
    scenario_version: int
    scenario_title: str
    status: str
    end_reason: str | None
    provider: str
    model: str
    prompt_version: str
    learner_turns: int
    max_turns: int | None
    started_at: datetime
    ended_at: datetime | None
    turns: list[TurnRead]
    score: ScoreRead | None
    reviews: list[ReviewRead]


class AttemptRead(BaseModel):
    """One attempt in a learner's history."""

    id: str
    employee_id: str
    scenario_id: str
    scenario_title: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    overall: float | None
    passed: bool | None
    needs_review: bool | None
