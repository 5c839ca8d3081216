"""The roleplay API under `/roleplay`.

`POST /roleplay/sessions/{session_id}/turns` answers with server-sent events:
`event: token` with `{"text": "<chunk>"}` (the chunks concatenate to the reply), then
`event: done` with the turn number and the session status, or `event: error` with
`{"error": <class>, "detail": <message>}` when the model fails. Problems found before
the model is called (unknown session, closed session, blank or overlong message) are
ordinary JSON error responses. The reply is stored before its first chunk is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sse_starlette import EventSourceResponse

from assistant.db import SessionDep, session_scope
from assistant.errors import AssistantError
from assistant.llm import LLM, get_llm
from assistant.llm.exceptions import LLMError
from assistant.roleplay import service
from assistant.roleplay.judge import Judge, LLMJudge, OfflineJudge
from assistant.roleplay.models import RoleplayAttempt, RoleplayReview, RoleplayScore, RoleplayTurn
from assistant.roleplay.persona import PersonaReply, generate_reply, stream_chunks
from assistant.roleplay.scenarios import Scenario
from assistant.roleplay.schemas import (
    AttemptRead,
    CriterionScoreRead,
    ReviewCreate,
    ReviewRead,
    ScenarioRead,
    ScoreRead,
    SessionCreate,
    SessionRead,
    TurnCreate,
    TurnRead,
)

log = structlog.get_logger()

router = APIRouter(prefix="/roleplay", tags=["roleplay"])


def _app_llm(request: Request) -> LLM:
    """Return the model created at start-up, or create it for an app run without its lifespan."""
    state = request.app.state
    if getattr(state, "llm", None) is None:
        state.llm = get_llm(state.settings, http_client=getattr(state, "http_client", None))
    llm: LLM = state.llm
    return llm


def _app_judge(request: Request, llm: Annotated[LLM, Depends(_app_llm)]) -> Judge:
    """Use the model as judge when it is a real endpoint; the tiny local model and scripts get the offline judge."""
    state = request.app.state
    if getattr(state, "roleplay_judge", None) is None:
        state.roleplay_judge = LLMJudge(llm) if llm.provider == "openai" else OfflineJudge()
    judge: Judge = state.roleplay_judge
    return judge


def _scenarios(request: Request) -> Mapping[str, Scenario]:
    return service.scenario_catalogue(request.app.state.settings)


LLMDep = Annotated[LLM, Depends(_app_llm)]
JudgeDep = Annotated[Judge, Depends(_app_judge)]
ScenariosDep = Annotated[Mapping[str, Scenario], Depends(_scenarios)]


def _commit(session: Session) -> None:
    """Commit before the response is sent.

    `SessionDep` commits in the code after its `yield`, which FastAPI runs after the
    response has gone out, so a client could otherwise read before the write is visible.
    """
    session.commit()


def _score_read(score: RoleplayScore) -> ScoreRead:
    return ScoreRead(
        overall=score.overall,
        passed=score.passed,
        pass_mark=score.pass_mark,
        needs_review=score.needs_review,
        injection_suspected=score.injection_suspected,
        flagged_turns=score.flagged_turns,
        criteria=[CriterionScoreRead.model_validate(criterion) for criterion in score.criteria],
        metrics=score.metrics,
        judge_provider=score.judge_provider,
        judge_model=score.judge_model,
        prompt_version=score.prompt_version,
        created_at=score.created_at,
    )


def _review_read(review: RoleplayReview) -> ReviewRead:
    assert review.id is not None
    return ReviewRead(id=review.id, reviewer_employee_id=review.reviewer_employee_id, note=review.note, created_at=review.created_at)


def _session_read(detail: service.SessionDetail, scenarios: Mapping[str, Scenario]) -> SessionRead:
    attempt = detail.attempt
    scenario = scenarios.get(attempt.scenario_id)
    return SessionRead(
        **attempt.model_dump(exclude={"model_ms_total"}),
        max_turns=scenario.end.max_turns if scenario else None,
        turns=[TurnRead.model_validate(turn, from_attributes=True) for turn in detail.turns],
        score=_score_read(detail.score) if detail.score else None,
        reviews=[_review_read(review) for review in detail.reviews],
    )


def _attempt_read(attempt: RoleplayAttempt, score: RoleplayScore | None) -> AttemptRead:
    return AttemptRead(
        id=attempt.id,
        employee_id=attempt.employee_id,
        scenario_id=attempt.scenario_id,
        scenario_title=attempt.scenario_title,
        status=attempt.status,
        started_at=attempt.started_at,
        ended_at=attempt.ended_at,
        overall=score.overall if score else None,
        passed=score.passed if score else None,
        needs_review=score.needs_review if score else None,
    )


@router.get("/scenarios")
def list_scenarios(session: SessionDep, scenarios: ScenariosDep, employee_id: Annotated[str, Query(min_length=1)]) -> list[ScenarioRead]:
    """List the scenarios that suit the learner's department and job title."""
    return [ScenarioRead.from_scenario(scenario) for scenario in service.scenarios_for(session, scenarios, employee_id)]


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
def create_session(body: SessionCreate, session: SessionDep, scenarios: ScenariosDep, llm: LLMDep) -> SessionRead:
    """Start a session; without scenario_id, pick one that suits the learner's role."""
    attempt = service.start_session(session, scenarios, llm, employee_id=body.employee_id, scenario_id=body.scenario_id)
    detail = _session_read(service.get_session_detail(session, attempt.id), scenarios)
    _commit(session)
    return detail


def _prepare_turn(session: Session, scenarios: Mapping[str, Scenario], session_id: str, text: str) -> service.PendingTurn:
    pending = service.prepare_turn(session, scenarios, session_id, text)
    # The request's session may hold SQLite's write lock (the auth check can update the
    # token's last use) until the stream ends, so commit before the stream writes.
    _commit(session)
    return pending


def _record_exchange(engine: Engine, pending: service.PendingTurn, reply: PersonaReply) -> tuple[RoleplayAttempt, RoleplayTurn]:
    with session_scope(engine) as session:
        return service.record_exchange(session, pending, reply)


def _event(name: str, payload: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps(payload, ensure_ascii=False)}


@router.post("/sessions/{session_id}/turns")
async def create_turn(
    session_id: str, body: TurnCreate, request: Request, session: SessionDep, scenarios: ScenariosDep, llm: LLMDep
) -> EventSourceResponse:
    """Send the learner's message; the persona's reply streams back as server-sent events."""
    engine = request.app.state.engine
    pending = await run_in_threadpool(_prepare_turn, session, scenarios, session_id, body.text)

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            reply = await generate_reply(llm, pending.scenario, pending.messages, learner_turn=pending.learner_turn, attempt_id=pending.attempt_id)
            attempt, persona_turn = await run_in_threadpool(_record_exchange, engine, pending, reply)
        except (LLMError, AssistantError) as exc:
            log.warning("roleplay.turn.failed", attempt_id=pending.attempt_id, error=type(exc).__name__)
            yield _event("error", {"error": type(exc).__name__, "detail": exc.message})
            return

        for chunk in stream_chunks(reply.text):
            yield _event("token", {"text": chunk})
        done = {
            "turn": persona_turn.n,
            "learner_turn": pending.learner_n,
            "status": attempt.status,
            "end_reason": attempt.end_reason,
            "regenerations": reply.regenerations,
            "fallback_used": reply.fallback_used,
        }
        yield _event("done", done)

    return EventSourceResponse(events())


@router.post("/sessions/{session_id}/end")
async def end_session(session_id: str, session: SessionDep, scenarios: ScenariosDep, judge: JudgeDep) -> ScoreRead:
    """End the session and score it; ending a scored session returns the stored score."""
    score = _score_read(await service.end_session(session, scenarios, judge, session_id))
    await run_in_threadpool(_commit, session)
    return score


@router.get("/sessions/{session_id}")
def get_session(session_id: str, session: SessionDep, scenarios: ScenariosDep) -> SessionRead:
    """Return the transcript, the score and the review notes."""
    return _session_read(service.get_session_detail(session, session_id), scenarios)


@router.get("/attempts")
def list_attempts(
    session: SessionDep, employee_id: Annotated[str, Query(min_length=1)], scenario_id: str | None = None
) -> list[AttemptRead]:
    """List a learner's attempts, newest first."""
    rows = service.list_attempts(session, employee_id=employee_id, scenario_id=scenario_id)
    return [_attempt_read(attempt, score) for attempt, score in rows]


@router.post("/sessions/{session_id}/reviews", status_code=status.HTTP_201_CREATED)
def create_review(session_id: str, body: ReviewCreate, session: SessionDep) -> ReviewRead:
    """Add a review note; only the learner's direct or indirect manager may."""
    review = _review_read(service.add_review(session, session_id, reviewer_employee_id=body.reviewer_employee_id, note=body.note))
    _commit(session)
    return review
