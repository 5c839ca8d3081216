"""The paths API: path requests, a person's path and its versions, team paths, recompute."""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlmodel import Session

from assistant.config import Settings
from assistant.db import SessionDep
from assistant.jobs.queue import InlineQueue, JobQueue
from assistant.jobs.registry import JobContext
from assistant.llm.base import LLM
from assistant.moodle.client import MoodleClient
from assistant.paths import service, tasks
from assistant.paths.engine import PathEngine, path_engine_for
from assistant.paths.models import LearningPath, PathRequest
from assistant.paths.narrative import fallback_narrative, manager_narrative
from assistant.paths.schemas import (
    INLINE_REQUEST_LIMIT,
    PathItemRead,
    PathRead,
    PathRequestCreate,
    PathRequestRead,
    PathVersionRead,
    PersonOutcome,
    RecomputeRead,
    TeamMemberPathRead,
)

log = structlog.get_logger()

router = APIRouter(tags=["paths"])


async def _paths_engine(request: Request) -> PathEngine:
    # The first call loads the embedding model (seconds), so it runs off the event loop.
    return await asyncio.to_thread(path_engine_for, request.app.state.settings, request.app.state.engine)


def _moodle(request: Request) -> MoodleClient | None:
    settings: Settings = request.app.state.settings
    if not settings.moodle_url:
        return None
    return MoodleClient.from_settings(settings, http_client=request.app.state.http_client)


PathsDep = Annotated[PathEngine, Depends(_paths_engine)]
MoodleDep = Annotated[MoodleClient | None, Depends(_moodle)]


def _job_queue(request: Request) -> JobQueue:
    queue = getattr(request.app.state, "job_queue", None)
    if queue is None:
        # Without the app's job queue, run jobs in this process like the embedded default does.
        queue = getattr(request.app.state, "paths_job_queue", None)
        if queue is None:
            queue = InlineQueue(JobContext(settings=request.app.state.settings, engine=request.app.state.engine))
            request.app.state.paths_job_queue = queue
    return queue


def _request_read(request: PathRequest) -> PathRequestRead:
    return PathRequestRead(
        id=request.id,
        status=request.status,
        status_url=f"/paths/requests/{request.id}",
        total=len(request.employee_ids),
        done=len(request.outcomes),
        outcomes={employee_id: PersonOutcome.model_validate(outcome) for employee_id, outcome in request.outcomes.items()},
        error=request.error,
        created_at=request.created_at,
        finished_at=request.finished_at,
    )


def _path_read(session: Session, path: LearningPath) -> PathRead:
    assert path.id is not None
    items = [PathItemRead.model_validate(item) for item in service.path_items(session, path.id)]
    return PathRead.model_validate({**path.model_dump(), "items": items})


@router.post(
    "/paths/requests",
    response_model=PathRequestRead,
    status_code=status.HTTP_200_OK,
    responses={202: {"model": PathRequestRead, "description": "More than 20 people: accepted and run in the background."}},
)
async def create_path_request(
    body: PathRequestCreate, request: Request, response: Response, paths: PathsDep, moodle: MoodleDep
) -> PathRequestRead:
    """Build paths for the given employees (new hires), and enrol their first stage in Moodle.

    Requests for up to 20 people are processed inline, and the response contains every
    outcome. Larger requests return 202 and a `status_url` to poll, whose outcomes fill
    in as the job runs.
    """
    engine = request.app.state.engine
    path_request = tasks.create_request(engine, body.employee_ids, enrol=body.enrol)

    if len(body.employee_ids) <= INLINE_REQUEST_LIMIT:
        finished = await tasks.process_request(engine, paths, path_request.id, moodle=moodle)
        return _request_read(finished)

    await _job_queue(request).defer(tasks.JOB_NAME, lock=f"paths-request-{path_request.id}", request_id=path_request.id)
    response.status_code = status.HTTP_202_ACCEPTED
    response.headers["Location"] = f"/paths/requests/{path_request.id}"
    return _request_read(path_request)


@router.get("/paths/requests/{request_id}", response_model=PathRequestRead)
async def get_path_request(request_id: str, request: Request) -> PathRequestRead:
    """Return a path request's status and the outcome for each person processed so far."""
    return _request_read(tasks.read_request(request.app.state.engine, request_id))


@router.get("/people/{employee_id}/path", response_model=PathRead)
async def get_person_path(employee_id: str, session: SessionDep) -> PathRead:
    """Return the person's current path: items in order with explanations, due dates and status."""
    return _path_read(session, service.require_current_path(session, employee_id))


@router.get("/people/{employee_id}/path/versions", response_model=list[PathVersionRead])
async def list_path_versions(employee_id: str, session: SessionDep) -> list[PathVersionRead]:
    """List every version of the person's path, oldest first; old versions stay readable at /paths/{id}."""
    return [PathVersionRead.model_validate(path) for path in service.list_versions(session, employee_id)]


@router.get("/paths/{path_id}", response_model=PathRead)
async def get_path(path_id: int, session: SessionDep) -> PathRead:
    """Return one path version, current or not."""
    return _path_read(session, service.get_path(session, path_id))


def _llm(request: Request) -> LLM | None:
    from assistant.llm.factory import LLMConfigurationError, get_llm

    try:
        return get_llm(request.app.state.settings, http_client=request.app.state.http_client)
    except LLMConfigurationError as exc:
        log.warning("paths.narrative.llm_unavailable", error=str(exc))
        return None


@router.get("/managers/{employee_id}/team/paths", response_model=list[TeamMemberPathRead])
async def list_team_paths(
    employee_id: str,
    request: Request,
    session: SessionDep,
    narrative: Annotated[bool, Query(description="Add a short summary of each path for the manager.")] = False,
) -> list[TeamMemberPathRead]:
    """List the current paths of the manager's direct and indirect reports (`path` is null without one)."""
    llm = _llm(request) if narrative else None
    members = []
    for person, path in service.team_paths(session, employee_id):
        read = _path_read(session, path) if path is not None else None
        if read is not None and path is not None and narrative:
            assert path.id is not None
            items = service.path_items(session, path.id)
            text = await manager_narrative(llm, path, items) if llm else fallback_narrative(path, items)
            read = read.model_copy(update={"narrative": text})
        members.append(
            TeamMemberPathRead(
                employee_id=person.employee_id,
                job_title=person.job_title,
                department=person.department,
                manager_employee_id=person.manager_employee_id,
                path=read,
            )
        )
    return members


@router.post("/paths/{path_id}/recompute", response_model=RecomputeRead)
async def recompute_path(
    path_id: int,
    session: SessionDep,
    paths: PathsDep,
    moodle: MoodleDep,
    enrol: Annotated[bool, Query(description="Enrol the new current stage in Moodle when Moodle is configured.")] = True,
) -> RecomputeRead:
    """Re-plan a current path with the person's latest grades and completions.

    A new version is stored only when the plan changes, and `changed` tells which happened.
    Courses that leave the path stay enrolled in Moodle, so their grades survive.
    """
    outcome = await service.recompute(session, paths, path_id, moodle=moodle)
    if enrol and moodle is not None:
        await service.enrol_stage(session, outcome.path, moodle, stage_size=paths.config.paths.stage_size)
    return RecomputeRead(changed=outcome.created, path=_path_read(session, outcome.path))
