"""Path versions: build and store them, enrol their current stage, read them back.

A person's first path has reason `new_hire`. A later build adds a `role_change`
version when the role metadata (title, department, division, location) differs. With
the same role it adds a `recompute` version, but only when the plan differs. Old
versions stay readable. Courses that drop out of a path are not unenrolled, so their
grades survive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol

import structlog
from sqlmodel import Session, col, select

from assistant.errors import Conflict, NotFound
from assistant.moodle.exceptions import MoodleNoManualEnrolment, MoodleNotFound
from assistant.moodle.schemas import BatchResult, Enrolment
from assistant.paths.builder import PathInputs, PathPlan, PreviousItem, RoleContext
from assistant.paths.engine import PathEngine
from assistant.paths.history import (
    MoodleLearningReader,
    certifications_from_person,
    combine,
    history_from_moodle,
    history_from_results,
)
from assistant.paths.models import (
    EnrolmentState,
    ItemKind,
    ItemStatus,
    LearningPath,
    LearningPathItem,
    utcnow,
)
from assistant.people.models import Person
from assistant.people.service import reports_of, require_person
from assistant.provisioning import service as provisioning

log = structlog.get_logger()

ROLE_FIELDS = ("job_title", "department", "division", "location")


class PathNotFound(NotFound):
    def __init__(self, what: str) -> None:
        super().__init__(f"no learning path {what}")


class PersonNotActive(Conflict):
    def __init__(self, employee_id: str) -> None:
        super().__init__(f"employee {employee_id!r} has left; paths are built for active people only")


class MoodlePathClient(MoodleLearningReader, Protocol):
    """The Moodle client calls that building and enrolling paths use."""

    async def has_manual_enrolment(self, course_id: int) -> bool: ...

    async def enrol_users(self, enrolments: Sequence[Enrolment]) -> BatchResult[Enrolment]: ...


@dataclass(frozen=True)
class BuildOutcome:
    path: LearningPath
    # False when the plan equalled the current version, which is returned unchanged.
    created: bool


@dataclass(frozen=True)
class EnrolmentOutcome:
    course: str
    state: EnrolmentState
    detail: str | None = None


def moodle_user_id_for(session: Session, employee_id: str) -> int | None:
    """Return the person's Moodle user id from the provisioning links, or None without an account."""
    return provisioning.moodle_user_id_for(session, employee_id)


def role_context(person: Person) -> RoleContext:
    return RoleContext(
        employee_id=person.employee_id,
        title=person.job_title,
        department=person.department,
        division=person.division,
        location=person.location,
        manager_employee_id=person.manager_employee_id,
        hire_date=person.hire_date,
    )


# --- reading ---


def current_path(session: Session, employee_id: str) -> LearningPath | None:
    query = select(LearningPath).where(LearningPath.employee_id == employee_id, col(LearningPath.is_current))
    return session.exec(query).first()


def require_current_path(session: Session, employee_id: str) -> LearningPath:
    require_person(session, employee_id)
    path = current_path(session, employee_id)
    if path is None:
        raise PathNotFound(f"for employee {employee_id!r} yet; request one with POST /paths/requests")
    return path


def get_path(session: Session, path_id: int) -> LearningPath:
    path = session.get(LearningPath, path_id)
    if path is None:
        raise PathNotFound(f"with id {path_id}")
    return path


def path_owner(session: Session, path_id: str) -> str | None:
    """Return the employee a path version belongs to, or None when there is no such path (for access rules)."""
    if not path_id.isdigit():
        return None
    path = session.get(LearningPath, int(path_id))
    return path.employee_id if path else None


def path_items(session: Session, path_id: int) -> list[LearningPathItem]:
    query = select(LearningPathItem).where(LearningPathItem.path_id == path_id).order_by(col(LearningPathItem.position))
    return list(session.exec(query))


def list_versions(session: Session, employee_id: str) -> list[LearningPath]:
    require_person(session, employee_id)
    query = select(LearningPath).where(LearningPath.employee_id == employee_id).order_by(col(LearningPath.version))
    return list(session.exec(query))


def team_paths(session: Session, manager_employee_id: str) -> list[tuple[Person, LearningPath | None]]:
    """Pair each direct and indirect report of the manager with their current path (None without one)."""
    require_person(session, manager_employee_id)
    team = reports_of(session, manager_employee_id, indirect=True)
    if not team:
        return []
    ids = [person.employee_id for person in team]
    query = select(LearningPath).where(col(LearningPath.employee_id).in_(ids), col(LearningPath.is_current))
    paths = {path.employee_id: path for path in session.exec(query)}
    return [(person, paths.get(person.employee_id)) for person in team]


# --- building ---


def _previous_items(session: Session, path: LearningPath | None) -> tuple[PreviousItem, ...]:
    if path is None or path.id is None:
        return ()
    return tuple(PreviousItem(item.shortname, item.assigned_on) for item in path_items(session, path.id))


def _role_changed(path: LearningPath, person: Person) -> bool:
    return any(getattr(path, name) != getattr(person, name) for name in ROLE_FIELDS)


def _signature(items: Sequence[LearningPathItem]) -> list[tuple[str, str, str | None, str]]:
    return [
        (item.shortname, item.kind, item.due_date.isoformat() if item.due_date else None, item.status) for item in items
    ]


async def plan_for(
    session: Session,
    paths: PathEngine,
    person: Person,
    *,
    moodle: MoodleLearningReader | None,
    as_of: date,
) -> tuple[PathPlan, LearningPath | None]:
    """Compute a plan for the person against their current version, without storing it."""
    current = current_path(session, person.employee_id)
    certifications, warnings = certifications_from_person(person)
    sources = [history_from_results(session, person.employee_id)]
    user_id = moodle_user_id_for(session, person.employee_id)
    if moodle is not None and user_id is not None:
        sources.append(await history_from_moodle(moodle, user_id))

    inputs = PathInputs(
        context=role_context(person),
        profile=paths.roles.profile_for(person.job_title),
        history=combine(*sources, certifications=certifications),
        as_of=as_of,
        previous=_previous_items(session, current),
    )
    snapshot = paths.snapshot(session)
    plan = await asyncio.to_thread(paths.build, snapshot, inputs)
    if inputs.profile.source == "none" and paths.roles.unavailable:
        warnings.append(f"job title {person.job_title!r} matched no configured role, and {paths.roles.unavailable}")
    plan.warnings = warnings + plan.warnings
    return plan, current


async def build_path(
    session: Session,
    paths: PathEngine,
    employee_id: str,
    *,
    moodle: MoodleLearningReader | None = None,
    as_of: date | None = None,
    reason: str | None = None,
) -> BuildOutcome:
    """Build the person's path and store it as a new version unless it equals the current one."""
    person = require_person(session, employee_id)
    if not person.is_active:
        raise PersonNotActive(employee_id)
    as_of = as_of or datetime.now(UTC).date()

    plan, current = await plan_for(session, paths, person, moodle=moodle, as_of=as_of)
    if current is not None and current.id is not None and not _role_changed(current, person):
        if plan.signature() == _signature(path_items(session, current.id)):
            log.info("paths.path.unchanged", employee_id=employee_id, path_id=current.id)
            return BuildOutcome(current, created=False)

    if reason is None:
        reason = _reason(current, person)
    path = _store_version(session, person, plan, current, reason=reason, as_of=as_of, paths=paths)
    log.info("paths.path.built", employee_id=employee_id, path_id=path.id, version=path.version, reason=reason)
    return BuildOutcome(path, created=True)


def _reason(current: LearningPath | None, person: Person) -> str:
    if current is None:
        return "new_hire"
    if _role_changed(current, person):
        return "role_change"
    return "recompute"


def _store_version(
    session: Session,
    person: Person,
    plan: PathPlan,
    current: LearningPath | None,
    *,
    reason: str,
    as_of: date,
    paths: PathEngine,
) -> LearningPath:
    enrolments = _enrolment_states(session, current)
    if current is not None:
        current.is_current = False
        session.flush()

    profile = paths.roles.profile_for(person.job_title)
    path = LearningPath(
        employee_id=person.employee_id,
        version=(current.version + 1) if current else 1,
        reason=reason,
        role_source=profile.source,
        role_name=profile.name,
        role_match=profile.describe(),
        as_of=as_of,
        inputs_hash=plan.inputs_hash,
        gap_skills=plan.gap_skills,
        held_skills=plan.held_skills,
        excluded=plan.excluded,
        warnings=plan.warnings,
        **{name: getattr(person, name) for name in ROLE_FIELDS},
    )
    session.add(path)
    session.flush()
    assert path.id is not None

    for position, item in enumerate(plan.items, start=1):
        state, detail, enrolled_at = enrolments.get(item.course.key, (EnrolmentState.NOT_REQUESTED, None, None))
        status = item.status
        if status is ItemStatus.PLANNED and state in (EnrolmentState.ENROLLED, EnrolmentState.ALREADY_ENROLLED):
            status = ItemStatus.ENROLLED
        session.add(
            LearningPathItem(
                path_id=path.id,
                position=position,
                course_id=item.course.id,
                shortname=item.course.key,
                title=item.course.title,
                kind=item.kind.value,
                level=item.course.level.value if item.course.level else None,
                due_date=item.due_date,
                assigned_on=item.assigned_on,
                covered_skills=item.covered_skills,
                similarity=item.similarity,
                explanation=item.explanation,
                reasons=item.reasons,
                status=status.value,
                grade=item.grade,
                enrolment=state.value,
                enrolment_detail=detail,
                enrolled_at=enrolled_at,
            )
        )
    session.flush()
    return path


def _enrolment_states(
    session: Session, path: LearningPath | None
) -> dict[str, tuple[EnrolmentState, str | None, datetime | None]]:
    """Carry enrolment results over from the previous version, so a re-plan does not enrol again."""
    if path is None or path.id is None:
        return {}
    return {
        item.shortname: (EnrolmentState(item.enrolment), item.enrolment_detail, item.enrolled_at)
        for item in path_items(session, path.id)
    }


# --- enrolment ---


def current_stage(items: Sequence[LearningPathItem], stage_size: int) -> list[LearningPathItem]:
    """Return the items to enrol now: every pending mandatory item and the next `stage_size` others."""
    pending = [item for item in items if item.status != ItemStatus.COMPLETED]
    mandatory = [item for item in pending if item.kind == ItemKind.MANDATORY]
    others = [item for item in pending if item.kind != ItemKind.MANDATORY][:stage_size]
    return sorted(mandatory + others, key=lambda item: item.position)


def _time_end(due: date | None) -> datetime | None:
    # NOTE: Moodle ends course access at timeend, so a learner who misses the due date
    # loses access until the enrolment is extended.
    if due is None:
        return None
    return datetime.combine(due, time(23, 59, 59), tzinfo=UTC)


async def enrol_stage(
    session: Session,
    path: LearningPath,
    moodle: MoodlePathClient,
    *,
    stage_size: int,
    now: datetime | None = None,
) -> list[EnrolmentOutcome]:
    """Enrol the person in the current stage of the path and record the outcome on each item.

    Courses the person is already enrolled in are skipped. A course without a manual
    enrolment method is reported on its item and does not stop the others. Flushes only.
    """
    assert path.id is not None
    now = now or utcnow()
    stage = current_stage(path_items(session, path.id), stage_size)
    user_id = moodle_user_id_for(session, path.employee_id)
    if user_id is None:
        return _mark(stage, EnrolmentState.NO_MOODLE_ACCOUNT, "the person has no linked Moodle account yet")

    enrolled = {course.id for course in await moodle.get_user_courses(user_id)}
    outcomes: list[EnrolmentOutcome] = []
    to_enrol: list[LearningPathItem] = []
    for item in stage:
        if item.course_id in enrolled:
            outcomes += _mark([item], EnrolmentState.ALREADY_ENROLLED, None)
            continue
        problem = await _manual_enrolment_problem(moodle, item)
        if problem is not None:
            outcomes += _mark([item], problem[0], problem[1])
            continue
        to_enrol.append(item)

    outcomes += await _enrol(moodle, user_id, to_enrol, now)
    session.flush()
    log.info("paths.stage.enrolled", employee_id=path.employee_id, path_id=path.id, items=len(stage), new=len(to_enrol))
    return outcomes


async def _manual_enrolment_problem(
    moodle: MoodlePathClient, item: LearningPathItem
) -> tuple[EnrolmentState, str] | None:
    try:
        if await moodle.has_manual_enrolment(item.course_id):
            return None
    except MoodleNotFound:
        return EnrolmentState.FAILED, f"Moodle has no course with id {item.course_id}; sync the catalogue"
    return (
        EnrolmentState.NO_MANUAL_ENROLMENT,
        f"course {item.shortname} has no manual enrolment method; ask a Moodle administrator to add one",
    )


async def _enrol(
    moodle: MoodlePathClient, user_id: int, items: list[LearningPathItem], now: datetime
) -> list[EnrolmentOutcome]:
    if not items:
        return []
    enrolments = [
        Enrolment(user_id=user_id, course_id=item.course_id, time_start=now, time_end=_time_end(item.due_date))
        for item in items
    ]
    result = await moodle.enrol_users(enrolments)
    failed = {failure.index: failure for failure in result.failed}

    outcomes: list[EnrolmentOutcome] = []
    for position, item in enumerate(items):
        failure = failed.get(position)
        if failure is None:
            item.enrolled_at = now
            item.status = ItemStatus.ENROLLED
            outcomes += _mark([item], EnrolmentState.ENROLLED, None)
        elif isinstance(failure.error, MoodleNoManualEnrolment):
            outcomes += _mark([item], EnrolmentState.NO_MANUAL_ENROLMENT, failure.reason)
        else:
            outcomes += _mark([item], EnrolmentState.FAILED, failure.reason)
    return outcomes


def _mark(items: Sequence[LearningPathItem], state: EnrolmentState, detail: str | None) -> list[EnrolmentOutcome]:
    outcomes = []
    for item in items:
        item.enrolment = state.value
        item.enrolment_detail = detail
        if state is EnrolmentState.ALREADY_ENROLLED and item.status == ItemStatus.PLANNED:
            item.status = ItemStatus.ENROLLED
        outcomes.append(EnrolmentOutcome(item.shortname, state, detail))
    return outcomes


async def recompute(
    session: Session,
    paths: PathEngine,
    path_id: int,
    *,
    moodle: MoodleLearningReader | None = None,
    as_of: date | None = None,
) -> BuildOutcome:
    """Re-plan the person of a path with their latest history; only the current version can be recomputed."""
    path = get_path(session, path_id)
    if not path.is_current:
        current = current_path(session, path.employee_id)
        newer = f"version {current.version} (id {current.id})" if current else "a newer version"
        raise Conflict(f"path {path_id} is version {path.version}, not the current one; recompute {newer} instead")
    return await build_path(session, paths, path.employee_id, moodle=moodle, as_of=as_of)
