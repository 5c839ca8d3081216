"""Roleplay sessions: starting them, recording turns, scoring, history and review notes.

Functions take a `Session` and flush; the caller commits. Learner and reviewer ids are
parameters for now; the auth layer decides who may call what.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from assistant.config import Settings
from assistant.errors import Conflict, Forbidden, InvalidInput, NotFound
from assistant.llm import LLM, ChatMessage
from assistant.people import service as people
from assistant.roleplay.judge import Judge
from assistant.roleplay.models import (
    AttemptStatus,
    EndReason,
    RoleplayAttempt,
    RoleplayReview,
    RoleplayScore,
    RoleplayTurn,
    utcnow,
)
from assistant.roleplay.persona import PersonaReply
from assistant.roleplay.prompting import PERSONA_TEMPLATE, persona_messages, prompt_version
from assistant.roleplay.scenarios import (
    BUNDLED_SCENARIOS_DIR,
    Scenario,
    ScenarioNotFound,
    cached_scenarios,
    suitable_scenarios,
)
from assistant.roleplay.scoring import ScoreResult, score_transcript
from assistant.roleplay.transcript import LEARNER, PERSONA, Turn

log = structlog.get_logger()

EMPTY_TURN_MESSAGE = "please type a reply"


class SessionNotFound(NotFound):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"no roleplay session with id {session_id!r}")


class SessionClosed(Conflict):
    """A turn was sent to a session that reached its end condition or was scored."""


class NoSuitableScenario(InvalidInput):
    """No scenario matches the learner's department and job title."""


@dataclass(frozen=True)
class PendingTurn:
    """A validated learner message and the persona call to answer it; nothing is stored yet."""

    attempt_id: str
    scenario: Scenario
    learner_n: int
    learner_turn: int
    text: str
    messages: list[ChatMessage]


@dataclass(frozen=True)
class SessionDetail:
    attempt: RoleplayAttempt
    turns: list[RoleplayTurn]
    score: RoleplayScore | None
    reviews: list[RoleplayReview]


@dataclass(frozen=True)
class FinishedAttempt:
    """A scored attempt, as the results domain collects it."""

    attempt_id: str
    employee_id: str
    scenario_id: str
    scenario_title: str
    score: float
    max_score: float
    passed: bool
    finished_at: datetime


def scenario_catalogue(settings: Settings) -> Mapping[str, Scenario]:
    """Return the configured scenarios, loaded once per folder."""
    return cached_scenarios(settings.roleplay_scenarios_dir or BUNDLED_SCENARIOS_DIR)


def _require_scenario(scenarios: Mapping[str, Scenario], scenario_id: str) -> Scenario:
    scenario = scenarios.get(scenario_id)
    if scenario is None:
        raise ScenarioNotFound(f"no scenario with id {scenario_id!r}; known: {', '.join(sorted(scenarios))}")
    return scenario


def scenarios_for(session: Session, scenarios: Mapping[str, Scenario], employee_id: str) -> list[Scenario]:
    """List the scenarios that suit the person's department and job title."""
    person = people.require_person(session, employee_id)
    return suitable_scenarios(scenarios, department=person.department, title=person.job_title)


def _least_practised(session: Session, employee_id: str, candidates: Sequence[Scenario]) -> Scenario:
    query = (
        select(RoleplayAttempt.scenario_id, func.count())
        .where(RoleplayAttempt.employee_id == employee_id)
        .group_by(col(RoleplayAttempt.scenario_id))
    )
    counts = dict(session.exec(query).all())
    return min(candidates, key=lambda scenario: (counts.get(scenario.id, 0), scenario.id))


def _choose_scenario(session: Session, scenarios: Mapping[str, Scenario], employee_id: str) -> Scenario:
    person = people.require_person(session, employee_id)
    candidates = suitable_scenarios(scenarios, department=person.department, title=person.job_title)
    if not candidates:
        raise NoSuitableScenario(
            f"no scenario suits employee {employee_id!r} (department {person.department!r}, job title "
            f"{person.job_title!r}); pass scenario_id to choose one of: {', '.join(sorted(scenarios))}"
        )
    return _least_practised(session, employee_id, candidates)


def start_session(
    session: Session, scenarios: Mapping[str, Scenario], llm: LLM, *, employee_id: str, scenario_id: str | None = None
) -> RoleplayAttempt:
    """Create an attempt with the persona's opening line as turn 1.

    Without `scenario_id` the scenario is the one that suits the learner's role and
    that they practised least. Raises `PersonNotFound`, `ScenarioNotFound` or `NoSuitableScenario`.
    """
    if scenario_id is None:
        scenario = _choose_scenario(session, scenarios, employee_id)
    else:
        people.require_person(session, employee_id)
        scenario = _require_scenario(scenarios, scenario_id)

    attempt = RoleplayAttempt(
        employee_id=employee_id,
        scenario_id=scenario.id,
        scenario_version=scenario.version,
        scenario_title=scenario.title,
        provider=llm.provider,
        model=llm.model,
        prompt_version=prompt_version(PERSONA_TEMPLATE),
    )
    session.add(attempt)
    session.add(RoleplayTurn(attempt_id=attempt.id, n=1, speaker=PERSONA, text=scenario.opening_line))
    session.flush()
    log.info("roleplay.session.started", attempt_id=attempt.id, employee_id=employee_id, scenario_id=scenario.id, provider=llm.provider)
    return attempt


def _require_attempt(session: Session, session_id: str) -> RoleplayAttempt:
    attempt = session.get(RoleplayAttempt, session_id)
    if attempt is None:
        raise SessionNotFound(session_id)
    return attempt


def _turns(session: Session, attempt_id: str) -> list[RoleplayTurn]:
    query = select(RoleplayTurn).where(RoleplayTurn.attempt_id == attempt_id).order_by(col(RoleplayTurn.n))
    return list(session.exec(query))


def _as_transcript(turns: Sequence[RoleplayTurn]) -> list[Turn]:
    return [Turn(turn.n, LEARNER if turn.speaker == LEARNER else PERSONA, turn.text) for turn in turns]


def validate_turn_text(scenario: Scenario, text: str) -> str:
    """Return the learner's message, or raise `InvalidInput` for a blank or overlong one."""
    if not text.strip():
        raise InvalidInput(f"{EMPTY_TURN_MESSAGE}: the message is empty")
    limit = scenario.limits.max_turn_chars
    if len(text) > limit:
        raise InvalidInput(
            f"the message has {len(text):,} characters; the limit in this scenario is {limit:,}. Shorten it and send it again"
        )
    return text.strip()


_CLOSED_REASONS = {
    EndReason.AGREEMENT: "the conversation reached an agreement",
    EndReason.MAX_TURNS: "the conversation reached its turn limit",
    EndReason.ENDED_BY_LEARNER: "the learner ended it",
}


def _ensure_open(attempt: RoleplayAttempt) -> None:
    if attempt.status == AttemptStatus.ACTIVE:
        return
    reason = _CLOSED_REASONS.get(attempt.end_reason or "", "it was ended")
    raise SessionClosed(f"session {attempt.id} takes no more turns: {reason}. End it to see the score, or start a new session")


def prepare_turn(session: Session, scenarios: Mapping[str, Scenario], session_id: str, text: str) -> PendingTurn:
    """Validate a learner message and build the persona call; stores nothing.

    Raises `SessionNotFound`, `SessionClosed` or `InvalidInput` (blank or overlong message).
    """
    attempt = _require_attempt(session, session_id)
    _ensure_open(attempt)
    # NOTE: the scenario as loaded now answers, even when its file changed version since the attempt started.
    scenario = _require_scenario(scenarios, attempt.scenario_id)
    message = validate_turn_text(scenario, text)

    transcript = _as_transcript(_turns(session, attempt.id))
    learner_n = transcript[-1].n + 1 if transcript else 1
    conversation = [*transcript, Turn(learner_n, LEARNER, message)]
    return PendingTurn(
        attempt_id=attempt.id,
        scenario=scenario,
        learner_n=learner_n,
        learner_turn=attempt.learner_turns + 1,
        text=message,
        messages=persona_messages(scenario, conversation),
    )


def _close_if_ended(attempt: RoleplayAttempt, scenario: Scenario, reply: PersonaReply) -> None:
    if not reply.fallback_used and scenario.agreement_reached(reply.text):
        attempt.status, attempt.end_reason = AttemptStatus.CLOSED, EndReason.AGREEMENT
    elif attempt.learner_turns >= scenario.end.max_turns:
        attempt.status, attempt.end_reason = AttemptStatus.CLOSED, EndReason.MAX_TURNS


def record_exchange(session: Session, pending: PendingTurn, reply: PersonaReply) -> tuple[RoleplayAttempt, RoleplayTurn]:
    """Store the learner message and the persona reply together, and close the session on an end condition.

    Raises `Conflict` when another request added a turn to the session in the meantime.
    """
    attempt = _require_attempt(session, pending.attempt_id)
    _ensure_open(attempt)
    learner = RoleplayTurn(attempt_id=attempt.id, n=pending.learner_n, speaker=LEARNER, text=pending.text)
    persona = RoleplayTurn(
        attempt_id=attempt.id,
        n=pending.learner_n + 1,
        speaker=PERSONA,
        text=reply.text,
        latency_ms=reply.latency_ms,
        regenerations=reply.regenerations,
        fallback_used=reply.fallback_used,
        guard_reasons=reply.guard_reasons,
    )
    attempt.learner_turns += 1
    attempt.model_ms_total += reply.latency_ms
    _close_if_ended(attempt, pending.scenario, reply)
    session.add_all([learner, persona, attempt])
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"another reply was added to session {attempt.id} at the same time; reload the session") from exc

    log.info("roleplay.turn.recorded", attempt_id=attempt.id, turn=persona.n, status=attempt.status, regenerations=reply.regenerations)
    return attempt, persona


def _store_score(session: Session, attempt: RoleplayAttempt, result: ScoreResult, scoring_ms: int) -> RoleplayScore:
    score = RoleplayScore(
        attempt_id=attempt.id,
        overall=result.overall,
        passed=result.passed,
        pass_mark=result.pass_mark,
        criteria=[criterion.as_dict() for criterion in result.criteria],
        metrics=result.metrics,
        injection_suspected=result.injection_suspected,
        flagged_turns=result.flagged_turns,
        needs_review=result.needs_review,
        judge_provider=result.judge_provider,
        judge_model=result.judge_model,
        prompt_version=result.prompt_version,
        scoring_ms=scoring_ms,
    )
    if attempt.status == AttemptStatus.ACTIVE:
        attempt.end_reason = EndReason.ENDED_BY_LEARNER
    attempt.status = AttemptStatus.SCORED
    attempt.ended_at = utcnow()
    session.add_all([score, attempt])
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"session {attempt.id} was scored by another request; read it with GET") from exc
    return score


def _existing_score(session: Session, attempt_id: str) -> RoleplayScore | None:
    return session.exec(select(RoleplayScore).where(RoleplayScore.attempt_id == attempt_id)).first()


@dataclass(frozen=True)
class _ScoringPlan:
    attempt: RoleplayAttempt
    scenario: Scenario
    transcript: list[Turn]


def _plan_scoring(session: Session, scenarios: Mapping[str, Scenario], session_id: str) -> _ScoringPlan | RoleplayScore:
    """Load what scoring needs, or the stored score of a session scored before."""
    attempt = _require_attempt(session, session_id)
    existing = _existing_score(session, attempt.id)
    if existing is not None:
        return existing
    if attempt.learner_turns == 0:
        raise InvalidInput(f"session {attempt.id} has no reply from the learner yet, so there is nothing to score")
    scenario = _require_scenario(scenarios, attempt.scenario_id)
    return _ScoringPlan(attempt, scenario, _as_transcript(_turns(session, attempt.id)))


async def end_session(session: Session, scenarios: Mapping[str, Scenario], judge: Judge, session_id: str) -> RoleplayScore:
    """Score the session and close it; a session already scored returns its stored score.

    Database work runs in worker threads, so a wait for SQLite's write lock never blocks
    the event loop. Raises `SessionNotFound`, `InvalidInput` when the learner has not
    replied yet, and `LLMUnavailable` when the judge cannot be reached (the session stays unscored).
    """
    plan = await asyncio.to_thread(_plan_scoring, session, scenarios, session_id)
    if isinstance(plan, RoleplayScore):
        return plan

    started = time.perf_counter()
    result = await score_transcript(plan.scenario, plan.transcript, judge)
    scoring_ms = round((time.perf_counter() - started) * 1000)

    attempt = plan.attempt
    score = await asyncio.to_thread(_store_score, session, attempt, result, scoring_ms)
    log.info(
        "roleplay.session.scored",
        attempt_id=attempt.id,
        overall=result.overall,
        passed=result.passed,
        needs_review=result.needs_review,
        injection_suspected=result.injection_suspected,
        judge=result.judge_provider,
        judge_model=result.judge_model,
        prompt_version=result.prompt_version,
        ms=scoring_ms,
    )
    return score


def get_session_detail(session: Session, session_id: str) -> SessionDetail:
    attempt = _require_attempt(session, session_id)
    reviews = select(RoleplayReview).where(RoleplayReview.attempt_id == attempt.id).order_by(col(RoleplayReview.created_at), col(RoleplayReview.id))
    return SessionDetail(attempt, _turns(session, attempt.id), _existing_score(session, attempt.id), list(session.exec(reviews)))


def list_attempts(
    session: Session, *, employee_id: str, scenario_id: str | None = None
) -> list[tuple[RoleplayAttempt, RoleplayScore | None]]:
    """List a learner's attempts with their scores, newest first."""
    query = (
        select(RoleplayAttempt, RoleplayScore)
        .join(RoleplayScore, col(RoleplayScore.attempt_id) == col(RoleplayAttempt.id), isouter=True)
        .where(RoleplayAttempt.employee_id == employee_id)
        .order_by(col(RoleplayAttempt.started_at).desc(), col(RoleplayAttempt.id))
    )
    if scenario_id is not None:
        query = query.where(RoleplayAttempt.scenario_id == scenario_id)
    return [(attempt, score) for attempt, score in session.exec(query).all()]


def add_review(session: Session, session_id: str, *, reviewer_employee_id: str, note: str) -> RoleplayReview:
    """Add a manager's note to an attempt.

    Raises `SessionNotFound`, `InvalidInput` for a blank note, and `Forbidden` unless the
    reviewer is the learner's direct or indirect manager in the HR data.
    """
    attempt = _require_attempt(session, session_id)
    if not note.strip():
        raise InvalidInput("the review note is empty; write what the learner should keep or change")
    if not people.is_manager_of(session, reviewer_employee_id, attempt.employee_id):
        raise Forbidden(
            f"employee {reviewer_employee_id!r} is not a manager of {attempt.employee_id!r} in the HR data, "
            "so they cannot review this session"
        )

    review = RoleplayReview(attempt_id=attempt.id, reviewer_employee_id=reviewer_employee_id, note=note.strip())
    session.add(review)
    session.flush()
    log.info("roleplay.review.added", attempt_id=attempt.id, reviewer_employee_id=reviewer_employee_id)
    return review


def session_learner(session: Session, session_id: str) -> str | None:
    """Return the learner's employee id of a session, or None when there is no such session."""
    attempt = session.get(RoleplayAttempt, session_id)
    return attempt.employee_id if attempt is not None else None


def finished_attempts(session: Session, *, since: datetime | None = None) -> list[FinishedAttempt]:
    """List scored attempts with an overall score, oldest first; `since` keeps those ended at or after it.

    Attempts whose score needs a human review have no overall score and are left out.
    """
    query = (
        select(RoleplayAttempt, RoleplayScore)
        .join(RoleplayScore, col(RoleplayScore.attempt_id) == col(RoleplayAttempt.id))
        .where(col(RoleplayScore.overall).is_not(None))
        .order_by(col(RoleplayAttempt.ended_at), col(RoleplayAttempt.id))
    )
    if since is not None:
        query = query.where(col(RoleplayAttempt.ended_at) >= since)
    return [_finished(attempt, score) for attempt, score in session.exec(query).all()]


def _finished(attempt: RoleplayAttempt, score: RoleplayScore) -> FinishedAttempt:
    assert score.overall is not None
    assert score.passed is not None
    assert attempt.ended_at is not None
    return FinishedAttempt(
        attempt_id=attempt.id,
        employee_id=attempt.employee_id,
        scenario_id=attempt.scenario_id,
        scenario_title=attempt.scenario_title,
        score=score.overall,
        max_score=100.0,
        passed=score.passed,
        finished_at=attempt.ended_at,
    )
