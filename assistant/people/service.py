"""Reading and writing person records, their history and the manager chain."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import structlog
from sqlmodel import Session, col, select

from assistant.errors import NotFound
from assistant.people.models import TRACKED_FIELDS, Person, PersonChange, PersonStatus, utcnow
from assistant.people.schemas import PersonRecord

log = structlog.get_logger()

UpsertAction = Literal["created", "updated", "unchanged"]

# Employee IDs per lookup query; keeps the IN list well inside every driver's parameter limit.
LOOKUP_CHUNK = 500


class PersonNotFound(NotFound):
    def __init__(self, employee_id: str) -> None:
        super().__init__(f"no person with employee ID {employee_id!r}")
        self.employee_id = employee_id


@dataclass
class UpsertResult:
    employee_id: str
    action: UpsertAction
    # field name -> (before, after)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def _as_history_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def get_person(session: Session, employee_id: str) -> Person | None:
    return session.exec(select(Person).where(Person.employee_id == employee_id)).first()


def require_person(session: Session, employee_id: str) -> Person:
    person = get_person(session, employee_id)
    if person is None:
        raise PersonNotFound(employee_id)
    return person


def list_people(session: Session, *, status: PersonStatus | None = None) -> list[Person]:
    query = select(Person).order_by(col(Person.employee_id))
    if status is not None:
        query = query.where(Person.status == status)
    return list(session.exec(query))


def upsert_person(
    session: Session,
    record: PersonRecord,
    *,
    source: str,
    run_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> UpsertResult:
    """Create or update one person from a source record, writing a history row per changed field.

    `fields` limits the update to the fields this source owns; None means every tracked field.
    The caller commits.
    """
    return upsert_people(session, [record], source=source, run_id=run_id, fields=fields)[0]


def upsert_people(
    session: Session,
    records: Sequence[PersonRecord],
    *,
    source: str,
    run_id: str | None = None,
    fields: Iterable[str] | None = None,
) -> list[UpsertResult]:
    """Upsert many records with one lookup query per chunk and one flush; results follow input order."""
    owned = set(TRACKED_FIELDS if fields is None else fields)
    existing = _people_by_employee_id(session, [record.employee_id for record in records])

    results = []
    for record in records:
        person = existing.get(record.employee_id)
        if person is None:
            person, changes = _create(session, record, source=source, run_id=run_id)
            existing[record.employee_id] = person
            results.append(UpsertResult(record.employee_id, "created", changes))
            continue
        results.append(_update(session, person, record, owned, source=source, run_id=run_id))

    session.flush()
    return results


def _people_by_employee_id(session: Session, employee_ids: Sequence[str]) -> dict[str, Person]:
    found: dict[str, Person] = {}
    unique_ids = sorted(set(employee_ids))
    for start in range(0, len(unique_ids), LOOKUP_CHUNK):
        chunk = unique_ids[start : start + LOOKUP_CHUNK]
        for person in session.exec(select(Person).where(col(Person.employee_id).in_(chunk))):
            found[person.employee_id] = person
    return found


def _create(
    session: Session, record: PersonRecord, *, source: str, run_id: str | None
) -> tuple[Person, dict[str, tuple[Any, Any]]]:
    person = Person(employee_id=record.employee_id, source=source)
    changes = _apply(person, record, set(TRACKED_FIELDS))
    session.add(person)
    _record_history(session, record.employee_id, changes, source=source, run_id=run_id)
    log.info("people.person.created", employee_id=record.employee_id, source=source, run_id=run_id)
    return person, changes


def _update(
    session: Session,
    person: Person,
    record: PersonRecord,
    owned: set[str],
    *,
    source: str,
    run_id: str | None,
) -> UpsertResult:
    changes = _apply(person, record, owned)
    if not changes:
        return UpsertResult(record.employee_id, "unchanged")

    person.source = source
    person.updated_at = utcnow()
    _record_history(session, record.employee_id, changes, source=source, run_id=run_id)
    log.info("people.person.updated", employee_id=record.employee_id, fields=sorted(changes), source=source)
    return UpsertResult(record.employee_id, "updated", changes)


def _apply(person: Person, record: PersonRecord, owned: set[str]) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for name in TRACKED_FIELDS:
        if name not in owned:
            continue
        before = getattr(person, name)
        after = getattr(record, name)
        if name == "status":
            after = PersonStatus(after).value
        if before != after:
            setattr(person, name, after)
            changes[name] = (before, after)
    return changes


def _record_history(
    session: Session,
    employee_id: str,
    changes: dict[str, tuple[Any, Any]],
    *,
    source: str,
    run_id: str | None,
) -> None:
    for name, (before, after) in changes.items():
        session.add(
            PersonChange(
                employee_id=employee_id,
                field=name,
                before=_as_history_text(before),
                after=_as_history_text(after),
                source=source,
                run_id=run_id,
            )
        )


def history(session: Session, employee_id: str) -> list[PersonChange]:
    query = (
        select(PersonChange)
        .where(PersonChange.employee_id == employee_id)
        .order_by(col(PersonChange.changed_at), col(PersonChange.id))
    )
    return list(session.exec(query))


def reports_of(session: Session, manager_employee_id: str, *, indirect: bool = True) -> list[Person]:
    """List the manager's direct reports and, with `indirect`, everyone below them.

    The walk stops at people already seen, so a cycle in HR's manager data cannot loop.
    """
    found: dict[str, Person] = {}
    frontier = [manager_employee_id]
    while frontier:
        query = select(Person).where(col(Person.manager_employee_id).in_(frontier))
        reports = [person for person in session.exec(query) if person.employee_id not in found]
        reports = [person for person in reports if person.employee_id != manager_employee_id]
        for person in reports:
            found[person.employee_id] = person
        frontier = [person.employee_id for person in reports] if indirect else []
    return sorted(found.values(), key=lambda person: person.employee_id)


def manager_chain(session: Session, employee_id: str) -> list[str]:
    """Return the employee IDs above this person, nearest manager first; stops on a cycle."""
    chain: list[str] = []
    current = get_person(session, employee_id)
    while current is not None and current.manager_employee_id:
        manager_id = current.manager_employee_id
        if manager_id in chain or manager_id == employee_id:
            break
        chain.append(manager_id)
        current = get_person(session, manager_id)
    return chain


def is_manager_of(session: Session, manager_employee_id: str, employee_id: str) -> bool:
    """Tell whether the first person manages the second directly or indirectly."""
    return manager_employee_id in manager_chain(session, employee_id)
