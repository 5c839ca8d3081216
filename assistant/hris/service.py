"""Importing a source batch into the people table, marking leavers and keeping each source's cursor."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog
from sqlmodel import Session, col, func, select

from assistant.hris.models import HrisSyncState, utcnow
from assistant.hris.source import RejectedRow, SourceBatch
from assistant.people.mapping import SourceMapping
from assistant.people.models import TRACKED_FIELDS, Person, PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_people, upsert_person

log = structlog.get_logger()

# Person fields that a mapped source field feeds besides itself.
_DERIVED_FIELDS = {
    "full_name": ("given_name", "family_name", "display_name"),
    "given_name": ("display_name",),
    "family_name": ("display_name",),
}


@dataclass
class ImportReport:
    """Outcome of one import: employee IDs per action, rejected rows, warnings and the new cursor."""

    source: str
    run_id: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    marked_leavers: list[str] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cursor: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "marked_leavers": len(self.marked_leavers),
            "rejected": len(self.rejected),
            "warnings": len(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts()}


def source_fields(mapping: SourceMapping, *, always: Collection[str] = ()) -> list[str]:
    """List the tracked person fields a source feeds, so an import leaves the other fields alone.

    `status` is always included because a source without a status column still decides it, from
    the termination date or from the person being listed at all. `always` adds fields that the
    source sets itself, such as `extra` for an ID it keeps there.
    """
    fed = {"status", *always}
    for name in mapping.fields:
        fed.add(name)
        fed.update(_DERIVED_FIELDS.get(name, ()))
    if mapping.extra:
        fed.add("extra")
    return [name for name in TRACKED_FIELDS if name in fed]


def import_batch(
    session: Session,
    batch: SourceBatch,
    *,
    source: str,
    fields: Collection[str] | None = None,
    run_id: str | None = None,
    max_leaver_share: float | None = None,
    force: bool = False,
) -> ImportReport:
    """Upsert every record of the batch and mark the people who left; the caller commits.

    `fields` limits updates of existing people to the fields this source feeds (see
    `source_fields`). People the batch reports as removed become leavers. After a complete batch,
    every active person last written by this source but absent from the batch becomes a leaver
    too. Three guards stop that step: a rejected row without an ID, an empty batch, and more
    leavers than `max_leaver_share` (0 to 1) of the active people unless `force` is set.
    """
    report = ImportReport(source=source, run_id=run_id or uuid.uuid4().hex, cursor=batch.cursor)
    report.rejected = list(batch.rejected)
    report.warnings = list(batch.warnings)

    for result in upsert_people(session, batch.records, source=source, run_id=report.run_id, fields=fields):
        getattr(report, result.action).append(result.employee_id)

    leavers = _leaver_candidates(session, batch, source=source, report=report)
    leavers = _apply_share_guard(session, leavers, max_share=max_leaver_share, force=force, report=report)
    for employee_id in leavers:
        upsert_person(
            session,
            PersonRecord(employee_id=employee_id, status=PersonStatus.LEAVER),
            source=source,
            run_id=report.run_id,
            fields=["status"],
        )
        report.marked_leavers.append(employee_id)

    log.info("hris.import.done", source=source, run_id=report.run_id, **report.counts())
    return report


def _leaver_candidates(session: Session, batch: SourceBatch, *, source: str, report: ImportReport) -> list[str]:
    active_ids = set(
        session.exec(select(Person.employee_id).where(Person.status == PersonStatus.ACTIVE))
    )
    candidates = {employee_id for employee_id in batch.removed if employee_id in active_ids}

    if batch.complete:
        candidates.update(_missing_from_complete_batch(session, batch, source=source, report=report))
    return sorted(candidates)


def _missing_from_complete_batch(session: Session, batch: SourceBatch, *, source: str, report: ImportReport) -> set[str]:
    if not batch.records:
        report.warnings.append("the batch contains nobody, so nobody was marked as a leaver; check the export")
        return set()

    without_id = [rejected.row for rejected in batch.rejected if rejected.employee_id is None]
    if without_id:
        report.warnings.append(
            f"{len(without_id)} rejected row(s) have no employee ID, so a person missing from this batch may "
            "only be unreadable; nobody was marked as a leaver for being absent. Fix those rows and import again"
        )
        return set()

    listed = {record.employee_id for record in batch.records}
    listed.update(rejected.employee_id for rejected in batch.rejected if rejected.employee_id)
    query = select(Person.employee_id).where(Person.status == PersonStatus.ACTIVE, Person.source == source)
    return {employee_id for employee_id in session.exec(query) if employee_id not in listed}


def _apply_share_guard(
    session: Session, leavers: list[str], *, max_share: float | None, force: bool, report: ImportReport
) -> list[str]:
    if not leavers or max_share is None or force:
        return leavers

    active_count = session.exec(
        select(func.count()).select_from(Person).where(col(Person.status) == PersonStatus.ACTIVE)
    ).one()
    if len(leavers) <= max_share * active_count:
        return leavers

    report.warnings.append(
        f"this import would mark {len(leavers)} of {active_count} active people as leavers, more than the "
        f"maximum share of {max_share:.0%}; nobody was marked. Import again with --force if this is right"
    )
    log.warning("hris.import.leaver_guard", source=report.source, run_id=report.run_id, leavers=len(leavers), active=active_count)
    return []


def get_cursor(session: Session, source: str) -> str | None:
    """Return where the source's next incremental pull starts, or None before its first pull."""
    state = session.get(HrisSyncState, source)
    return state.cursor if state is not None else None


def save_cursor(session: Session, source: str, cursor: str | None, *, run_id: str | None = None) -> None:
    """Store the cursor a pull returned; a None cursor leaves the stored one in place."""
    if cursor is None:
        return

    state = session.get(HrisSyncState, source) or HrisSyncState(source=source)
    state.cursor = cursor
    state.last_run_id = run_id
    state.updated_at = utcnow()
    session.add(state)
    session.flush()
