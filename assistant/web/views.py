"""View models of the pages, built from the domain services.

Each function returns plain dataclasses for the templates, or `Unavailable` when the
domain service it needs is not installed yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from datetime import date, datetime

from sqlmodel import Session

from assistant.auth.principal import Principal
from assistant.auth.models import Role
from assistant.people.models import Person
from assistant.people.service import list_people, reports_of, require_person
from assistant.web.sources import Unavailable, import_service, unavailable

PATHS_SERVICE = "assistant.paths.service"
ROLEPLAY_SERVICE = "assistant.roleplay.service"


@dataclass(frozen=True)
class PersonSummary:
    employee_id: str
    label: str
    job_title: str | None
    department: str | None


def _summary(person: Person) -> PersonSummary:
    return PersonSummary(
        employee_id=person.employee_id,
        label=person.display_name or f"{person.given_name} {person.family_name}".strip() or person.employee_id,
        job_title=person.job_title,
        department=person.department,
    )


def person_summary(session: Session, employee_id: str) -> PersonSummary:
    """Return the person's name and role; raises PersonNotFound (404)."""
    return _summary(require_person(session, employee_id))


@dataclass(frozen=True)
class PathItemView:
    position: int
    title: str
    kind: str
    status: str
    due_date: date | None
    overdue: bool
    explanation: str
    grade: float | None


@dataclass(frozen=True)
class PathView:
    version: int
    role_name: str | None
    items: list[PathItemView]
    narrative: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(1 for item in self.items if item.status == "completed")

    @property
    def overdue_mandatory(self) -> list[PathItemView]:
        return [item for item in self.items if item.overdue and item.kind == "mandatory"]


def _item_view(item: Any, today: date) -> PathItemView:
    overdue = item.due_date is not None and item.due_date < today and item.status != "completed"
    return PathItemView(
        position=item.position,
        title=item.title,
        kind=item.kind,
        status=item.status,
        due_date=item.due_date,
        overdue=overdue,
        explanation=item.explanation,
        grade=item.grade,
    )


def path_view(session: Session, employee_id: str, *, today: date | None = None) -> PathView | Unavailable | None:
    """Return the person's current path; None when they have none yet."""
    paths = import_service(PATHS_SERVICE, "current_path", "path_items")
    if paths is None:
        return unavailable("Learning paths", PATHS_SERVICE)

    path = paths.current_path(session, employee_id)
    if path is None:
        return None

    today = today or date.today()
    items = [_item_view(item, today) for item in paths.path_items(session, path.id)]
    return PathView(
        version=path.version,
        role_name=path.role_name,
        items=items,
        narrative=path.narrative,
        warnings=list(path.warnings),
    )


@dataclass(frozen=True)
class AttemptView:
    session_id: str
    scenario_title: str
    status: str
    started_at: datetime
    overall: float | None
    passed: bool | None

    @property
    def score_label(self) -> str:
        if self.overall is None:
            return "not scored yet" if self.status != "scored" else "needs review"
        verdict = "passed" if self.passed else "not passed"
        return f"{self.overall:.0f} / 100, {verdict}"


def attempts_view(session: Session, employee_id: str) -> list[AttemptView] | Unavailable:
    """Return the person's roleplay attempts, newest first."""
    roleplay = import_service(ROLEPLAY_SERVICE, "list_attempts")
    if roleplay is None:
        return unavailable("Roleplay practice", ROLEPLAY_SERVICE)
    return [
        AttemptView(
            session_id=attempt.id,
            scenario_title=attempt.scenario_title or attempt.scenario_id,
            status=attempt.status,
            started_at=attempt.started_at,
            overall=score.overall if score else None,
            passed=score.passed if score else None,
        )
        for attempt, score in roleplay.list_attempts(session, employee_id=employee_id)
    ]


@dataclass(frozen=True)
class TeamRow:
    person: PersonSummary
    path: PathView | Unavailable | None
    latest_attempt: AttemptView | None


def team_members(session: Session, principal: Principal) -> list[Person]:
    """Return the people a manager's team page lists; an admin gets every active person."""
    if principal.role is Role.ADMIN:
        return [person for person in list_people(session) if person.is_active]
    return [person for person in reports_of(session, principal.employee_id) if person.is_active]


def team_view(session: Session, principal: Principal) -> list[TeamRow]:
    rows = []
    for person in team_members(session, principal):
        attempts = attempts_view(session, person.employee_id)
        latest = attempts[0] if isinstance(attempts, list) and attempts else None
        rows.append(TeamRow(_summary(person), path_view(session, person.employee_id), latest))
    return rows
