"""Path requests: build (and enrol) paths for a list of employees, inline or as a background job.

Each person is built in a session of their own, so one failure never undoes the
others. The request row keeps a status and one outcome per person. The job is
idempotent: run again, it skips people who already have an outcome.
"""

from __future__ import annotations

import uuid
from datetime import date

import structlog
from sqlalchemy.engine import Engine

from assistant.config import Settings
from assistant.db import session_scope
from assistant.errors import AssistantError
from assistant.jobs.registry import JobContext, register_job
from assistant.moodle.client import MoodleClient
from assistant.paths.engine import PathEngine, path_engine_for
from assistant.paths.models import PathRequest, RequestStatus, utcnow
from assistant.paths.schemas import PersonOutcome
from assistant.paths.service import MoodlePathClient, build_path, enrol_stage, path_items

log = structlog.get_logger()

JOB_NAME = "paths.process_request"
# People between two writes of the request's progress.
PROGRESS_EVERY = 25
TERMINAL = frozenset({RequestStatus.SUCCEEDED, RequestStatus.PARTIAL, RequestStatus.FAILED})


class PathRequestNotFound(AssistantError):
    status_code = 404

    def __init__(self, request_id: str) -> None:
        super().__init__(f"no path request with id {request_id!r}")


def create_request(engine: Engine, employee_ids: list[str], *, enrol: bool) -> PathRequest:
    """Store a queued request and commit it, so its status URL works at once."""
    with session_scope(engine) as session:
        request = PathRequest(id=uuid.uuid4().hex, employee_ids=employee_ids, enrol=enrol)
        session.add(request)
    log.info("paths.request.created", request_id=request.id, people=len(employee_ids), enrol=enrol)
    return request


def read_request(engine: Engine, request_id: str) -> PathRequest:
    with session_scope(engine) as session:
        request = session.get(PathRequest, request_id)
        if request is None:
            raise PathRequestNotFound(request_id)
        return request


async def _person_outcome(
    engine: Engine,
    paths: PathEngine,
    employee_id: str,
    *,
    moodle: MoodlePathClient | None,
    enrol: bool,
    as_of: date | None,
) -> PersonOutcome:
    with session_scope(engine) as session:
        built = await build_path(session, paths, employee_id, moodle=moodle, as_of=as_of)
        path = built.path
        enrolment: dict[str, str] = {}
        if enrol and moodle is not None:
            outcomes = await enrol_stage(session, path, moodle, stage_size=paths.config.paths.stage_size)
            enrolment = {outcome.course: outcome.state.value for outcome in outcomes}
        assert path.id is not None
        items = len(path_items(session, path.id))
        return PersonOutcome(
            status="built" if built.created else "unchanged",
            path_id=path.id,
            version=path.version,
            items=items,
            enrolment=enrolment,
        )


async def process_request(
    engine: Engine,
    paths: PathEngine,
    request_id: str,
    *,
    moodle: MoodlePathClient | None,
    as_of: date | None = None,
) -> PathRequest:
    """Build the path of every person of the request, recording each outcome; return the finished request."""
    request = _start(engine, request_id)
    if request.status in TERMINAL:
        return request

    outcomes = dict(request.outcomes)
    for position, employee_id in enumerate(request.employee_ids, start=1):
        if employee_id in outcomes:
            continue
        outcomes[employee_id] = (await _safe_outcome(engine, paths, employee_id, moodle, request.enrol, as_of)).model_dump()
        if position % PROGRESS_EVERY == 0:
            _save_outcomes(engine, request_id, outcomes)

    return _finish(engine, request_id, outcomes)


async def _safe_outcome(
    engine: Engine,
    paths: PathEngine,
    employee_id: str,
    moodle: MoodlePathClient | None,
    enrol: bool,
    as_of: date | None,
) -> PersonOutcome:
    try:
        return await _person_outcome(engine, paths, employee_id, moodle=moodle, enrol=enrol, as_of=as_of)
    except AssistantError as exc:
        log.warning("paths.request.person_failed", employee_id=employee_id, error=type(exc).__name__)
        return PersonOutcome(status="failed", error=exc.message)
    except Exception as exc:  # noqa: BLE001 - one person's failure must not stop the batch
        log.exception("paths.request.person_error", employee_id=employee_id, error=type(exc).__name__)
        return PersonOutcome(status="failed", error=f"internal error ({type(exc).__name__}); see the service log")


def _start(engine: Engine, request_id: str) -> PathRequest:
    with session_scope(engine) as session:
        request = session.get(PathRequest, request_id)
        if request is None:
            raise PathRequestNotFound(request_id)
        if request.status not in TERMINAL:
            request.status = RequestStatus.RUNNING
            request.started_at = request.started_at or utcnow()
        return request


def _save_outcomes(engine: Engine, request_id: str, outcomes: dict[str, object]) -> None:
    with session_scope(engine) as session:
        request = session.get(PathRequest, request_id)
        assert request is not None
        request.outcomes = dict(outcomes)


def _finish(engine: Engine, request_id: str, outcomes: dict[str, object]) -> PathRequest:
    failed = sum(1 for outcome in outcomes.values() if isinstance(outcome, dict) and outcome.get("status") == "failed")
    if failed == 0:
        status = RequestStatus.SUCCEEDED
    elif failed == len(outcomes):
        status = RequestStatus.FAILED
    else:
        status = RequestStatus.PARTIAL

    with session_scope(engine) as session:
        request = session.get(PathRequest, request_id)
        assert request is not None
        request.outcomes = dict(outcomes)
        request.status = status
        request.finished_at = utcnow()
    log.info("paths.request.finished", request_id=request_id, status=status.value, people=len(outcomes), failed=failed)
    return request


def moodle_client_for(settings: Settings) -> MoodleClient | None:
    """Return a Moodle client with its own HTTP connection pool, or None when Moodle is not configured."""
    if not settings.moodle_url:
        return None
    return MoodleClient.from_settings(settings)


@register_job(JOB_NAME, max_attempts=3)
async def process_request_job(context: JobContext, request_id: str) -> None:
    """Run a path request in the background."""
    paths = path_engine_for(context.settings, context.engine)
    moodle = moodle_client_for(context.settings)
    try:
        await process_request(context.engine, paths, request_id, moodle=moodle)
    finally:
        if moodle is not None:
            await moodle.aclose()
