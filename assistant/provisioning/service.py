"""Sync runs: import people from an HR source, plan their Moodle accounts, guard, apply and audit.

`run_sync` is the one entry point for the CLI, the API and jobs. `sync_person` plans and
applies one employee at once, for example when the SCIM server deactivates someone.
A dry run and a rejected run change nothing but their own run row, because they roll
the people import back too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assistant.config import get_settings
from assistant.db import session_scope
from assistant.errors import NotFound
from assistant.hris.service import ImportReport, import_batch, source_fields
from assistant.hris.source import HRSource, SourceBatch
from assistant.moodle.client import MoodleClient
from assistant.people.mapping import MappingConfig
from assistant.people.models import Person, PersonStatus
from assistant.people.service import PersonNotFound, get_person
from assistant.provisioning.apply import apply_plan
from assistant.provisioning.guard import GuardInput, GuardVerdict, check_run
from assistant.provisioning.models import ProvisioningAccount, ProvisioningAudit, ProvisioningRun, RunStatus, utcnow
from assistant.provisioning.planner import (
    MoodleState,
    PlannedItem,
    active_linked_users,
    check_mapping,
    count_actions,
    plan_orphan,
    plan_person,
    resolve_shared_users,
)
from assistant.provisioning.schemas import (
    PROBLEM_ACTIONS,
    ImportSummary,
    PlanAction,
    PlanItem,
    RejectedRecord,
    RunReport,
)

log = structlog.get_logger()

# Statuses of runs that wrote to Moodle; the truncation guard compares with the last of them.
_APPLIED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
# Rows per IN (...) query, well below the parameter limits of SQLite and PostgreSQL.
_QUERY_CHUNK = 500


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no sync run with id {run_id!r}; list runs with GET /sync/runs")
        self.run_id = run_id


@dataclass
class _PlanContext:
    """Everything one run planned, before anything was applied."""

    planned: list[PlannedItem]
    people: ImportSummary
    verdict: GuardVerdict
    warnings: list[str] = field(default_factory=list)


# --- public entry points ---


async def run_sync(
    engine: Engine,
    client: MoodleClient,
    source: HRSource,
    *,
    mapping: MappingConfig,
    dry_run: bool,
    force: bool,
    max_suspend_share: float | None = None,
) -> RunReport:
    """Import people from the source, plan their Moodle accounts and, unless `dry_run`, apply the plan.

    The guard rejects an empty or truncated complete source, and a plan that suspends more than
    `max_suspend_share` (default: the setting) of the active linked users, unless `force`.
    Per-item Moodle failures end up in the report. A Moodle configuration error or any other
    exception marks the run failed and is re-raised.
    """
    mapping_warnings = check_mapping(mapping)
    share = get_settings().max_suspend_share if max_suspend_share is None else max_suspend_share
    batch = await source.fetch_people()
    run = _start_run(engine, source.name, batch=batch, dry_run=dry_run, force=force)
    log.info("provisioning.run.started", run_id=run.id, source=source.name, records=len(batch.records), dry_run=dry_run)

    try:
        context = await _plan_run(engine, client, batch, run, mapping=mapping, force=force, max_suspend_share=share)
        context.warnings[:0] = mapping_warnings
        return await _finish_run(engine, client, run, context, mapping=mapping)
    except BaseException as exc:
        _fail_run(engine, run.id, exc)
        raise


async def sync_person(
    engine: Engine,
    client: MoodleClient,
    employee_id: str,
    *,
    mapping: MappingConfig,
    source: str = "person",
) -> PlanItem:
    """Plan and apply one employee's Moodle account from the people table, without the guard.

    Raises PersonNotFound when the people table has no such employee. A Moodle rejection of
    the item is returned as outcome "failed" with the reason, not raised.
    """
    check_mapping(mapping)
    with session_scope(engine) as session:
        person = get_person(session, employee_id)
        if person is None:
            raise PersonNotFound(employee_id)
        account = _accounts_by_employee(session, [employee_id]).get(employee_id)

    accounts = [account] if account else []
    unlinked = [] if account else [(employee_id, person.email)]
    state = await read_moodle_state(client, employee_ids=[employee_id], accounts=accounts, unlinked=unlinked)
    planned = plan_person(person, account, state, mapping)
    with session_scope(engine) as session:
        linked = _accounts_by_moodle_user(session, [planned.item.moodle_user_id])
    resolve_shared_users([planned], linked)
    run = _start_run(engine, source, batch=None, dry_run=False, force=False)

    try:
        await apply_plan(engine, client, [planned], run_id=run.id, source=source, mapping=mapping)
        _close_run(engine, run.id, [planned.item], status=_applied_status([planned.item]))
    except BaseException as exc:
        _fail_run(engine, run.id, exc)
        raise

    log.info("provisioning.person.synced", employee_id=employee_id, action=planned.item.action.value, outcome=planned.item.outcome)
    return planned.item


def get_run(session: Session, run_id: str) -> ProvisioningRun:
    run = session.get(ProvisioningRun, run_id)
    if run is None:
        raise RunNotFound(run_id)
    return run


def list_audit(session: Session, run_id: str) -> list[ProvisioningAudit]:
    """Return the run's audit rows in the order they were written; raises RunNotFound for an unknown run."""
    get_run(session, run_id)
    query = select(ProvisioningAudit).where(ProvisioningAudit.run_id == run_id).order_by(col(ProvisioningAudit.id))
    return list(session.exec(query))


def moodle_user_id_for(session: Session, employee_id: str) -> int | None:
    """Return the Moodle user id linked to an employee, or None when the employee has no linked account."""
    account = session.exec(select(ProvisioningAccount).where(ProvisioningAccount.employee_id == employee_id)).first()
    return account.moodle_user_id if account else None


def employee_id_for(session: Session, moodle_user_id: int) -> str | None:
    """Return the employee ID linked to a Moodle user id, or None when no employee is linked to it."""
    query = select(ProvisioningAccount).where(ProvisioningAccount.moodle_user_id == moodle_user_id)
    account = session.exec(query).first()
    return account.employee_id if account else None


# --- reading Moodle ---


async def read_moodle_state(
    client: MoodleClient,
    *,
    employee_ids: Iterable[str],
    accounts: Iterable[ProvisioningAccount],
    unlinked: Iterable[tuple[str, str | None]],
) -> MoodleState:
    """Read the Moodle users a plan needs.

    Looks up every employee ID and linked employee by idnumber, then the linked ids that
    idnumber did not find, then the e-mails of `unlinked` (employee ID, e-mail) pairs that
    still have no match.
    """
    state = MoodleState()
    accounts = list(accounts)
    idnumbers = sorted({*employee_ids, *(account.employee_id for account in accounts)})
    if idnumbers:
        state.add(await client.get_users_by_field("idnumber", idnumbers))

    missing_ids = sorted({account.moodle_user_id for account in accounts} - set(state.by_id))
    if missing_ids:
        state.add(await client.get_users_by_field("id", missing_ids))

    emails = sorted({email.strip().lower() for employee_id, email in unlinked if email and employee_id not in state.by_idnumber})
    if emails:
        state.add(await client.get_users_by_field("email", emails))
    return state


# --- the steps of a run ---


async def _plan_run(
    engine: Engine,
    client: MoodleClient,
    batch: SourceBatch,
    run: ProvisioningRun,
    *,
    mapping: MappingConfig,
    force: bool,
    max_suspend_share: float,
) -> _PlanContext:
    batch_ids = {record.employee_id for record in batch.records}
    with session_scope(engine) as session:
        accounts = _accounts_by_employee(session, None)
        last_complete = _last_complete_records(session, run.source)
        others = _people_outside_batch(session, batch, accounts, source=run.source) - batch_ids

    # Moodle is read before the import's transaction opens, so no transaction waits on Moodle.
    involved = batch_ids | others
    # E-mail matching exists to avoid duplicate creates, and leavers are never created.
    unlinked = [
        (record.employee_id, record.email)
        for record in batch.records
        if record.employee_id not in accounts and record.status is PersonStatus.ACTIVE
    ]
    state = await read_moodle_state(
        client,
        employee_ids=sorted(involved),
        accounts=[accounts[employee_id] for employee_id in sorted(involved) if employee_id in accounts],
        unlinked=unlinked,
    )

    with Session(engine, expire_on_commit=False) as session:
        imported = import_batch(session, batch, source=run.source, fields=_source_fields(mapping, run.source), run_id=run.id)
        planned = _plan_people(session, batch, others, set(imported.marked_leavers), accounts, state, mapping)
        verdict = check_run(_guard_input(batch, planned, state, last_complete, max_suspend_share), force=force)

        # The people import is kept only when the plan is going to be applied.
        if run.dry_run or verdict.rejected:
            session.rollback()
        else:
            session.commit()

    return _PlanContext(planned=planned, people=_import_summary(batch, imported), verdict=verdict)


def _people_outside_batch(
    session: Session,
    batch: SourceBatch,
    accounts: dict[str, ProvisioningAccount],
    *,
    source: str,
) -> set[str]:
    """Return the employees outside the batch whose Moodle account the run may have to suspend.

    These are the employees the source reports as removed and, for a complete batch, the
    active people this source wrote (the import may mark them as leavers) and every
    employee with an active linked account.
    """
    others = set(batch.removed)
    if not batch.complete:
        return others

    query = select(Person.employee_id).where(Person.status == PersonStatus.ACTIVE, Person.source == source)
    others.update(session.exec(query))
    others.update(employee_id for employee_id, account in accounts.items() if not account.suspended)
    return others


def _plan_people(
    session: Session,
    batch: SourceBatch,
    others: set[str],
    marked_leavers: set[str],
    accounts: dict[str, ProvisioningAccount],
    state: MoodleState,
    mapping: MappingConfig,
) -> list[PlannedItem]:
    """Plan the batch's employees, then the others; `marked_leavers` left because the complete source omits them."""
    batch_ids = [record.employee_id for record in batch.records]
    people = _people_by_employee(session, [*batch_ids, *others])

    planned = [plan_person(people[employee_id], accounts.get(employee_id), state, mapping) for employee_id in batch_ids]
    for employee_id in sorted(others):
        person = people.get(employee_id)
        account = accounts.get(employee_id)
        if person is not None:
            planned.append(plan_person(person, account, state, mapping, missing_from_source=employee_id in marked_leavers))
        elif account is not None:
            planned.append(plan_orphan(account, state))

    listed = set(batch_ids)
    planned = [entry for entry in planned if entry.item.employee_id in listed or _concerns_account(entry)]
    resolve_shared_users(planned, accounts)
    return planned


def _concerns_account(entry: PlannedItem) -> bool:
    """Tell whether a plan item for someone outside the batch touches an existing Moodle account.

    The run only looks after the existing accounts of people the source did not list. It
    creates nobody for them, and their skips need no line in the report.
    """
    return entry.item.action not in (PlanAction.CREATE, PlanAction.INVALID, PlanAction.SKIP)


def _guard_input(
    batch: SourceBatch,
    planned: Sequence[PlannedItem],
    state: MoodleState,
    last_complete: int | None,
    max_suspend_share: float,
) -> GuardInput:
    return GuardInput(
        source_records=len(batch.records),
        source_complete=batch.complete,
        last_complete_records=last_complete,
        planned_suspensions=sum(1 for entry in planned if entry.item.action is PlanAction.SUSPEND),
        active_linked_users=active_linked_users(planned, state),
        max_suspend_share=max_suspend_share,
    )


def _source_fields(mapping: MappingConfig, source: str) -> list[str] | None:
    # A source the mapping does not describe (a test double, for example) feeds every field.
    if source not in mapping.sources:
        return None
    # The BambooHR source keeps BambooHR's own employee ID in `extra` for write-back.
    always = ("extra",) if source == "bamboohr" else ()
    return source_fields(mapping.sources[source], always=always)


def _import_summary(batch: SourceBatch, imported: ImportReport) -> ImportSummary:
    return ImportSummary(
        records=len(batch.records),
        created=len(imported.created),
        updated=len(imported.updated),
        unchanged=len(imported.unchanged),
        marked_leavers=len(imported.marked_leavers),
        rejected=[RejectedRecord(row=row.row, employee_id=row.employee_id, reason=row.reason) for row in imported.rejected],
        warnings=list(imported.warnings),
    )


async def _finish_run(
    engine: Engine,
    client: MoodleClient,
    run: ProvisioningRun,
    context: _PlanContext,
    *,
    mapping: MappingConfig,
) -> RunReport:
    items = [entry.item for entry in context.planned]
    if context.verdict.forced:
        context.warnings.append("the guard's objections were overridden with --force: " + "; ".join(context.verdict.reasons))

    if run.dry_run:
        status = RunStatus.PREVIEWED
    elif context.verdict.rejected:
        status = RunStatus.REFUSED
        log.warning("provisioning.run.refused", run_id=run.id, reasons=context.verdict.reasons)
    else:
        await apply_plan(engine, client, context.planned, run_id=run.id, source=run.source, mapping=mapping)
        status = _applied_status(items)

    error = "; ".join(context.verdict.reasons) if status is RunStatus.REFUSED else None
    closed = _close_run(engine, run.id, items, status=status, error=error)
    log.info("provisioning.run.finished", run_id=run.id, status=status.value, **closed.counts)
    return RunReport(
        run_id=run.id,
        source=run.source,
        status=status.value,
        dry_run=run.dry_run,
        forced=run.forced,
        source_complete=run.source_complete,
        started_at=run.started_at,
        finished_at=closed.finished_at,
        counts=closed.counts,
        guard=context.verdict,
        people=context.people,
        items=items,
        warnings=context.warnings,
        error=error,
    )


def _applied_status(items: Sequence[PlanItem]) -> RunStatus:
    return RunStatus.PARTIAL if any(item.outcome == "failed" for item in items) else RunStatus.SUCCEEDED


# --- run rows ---


def _start_run(engine: Engine, source: str, *, batch: SourceBatch | None, dry_run: bool, force: bool) -> ProvisioningRun:
    run = ProvisioningRun(
        id=uuid.uuid4().hex,
        source=source,
        dry_run=dry_run,
        forced=force,
        source_records=len(batch.records) if batch else 1,
        source_complete=batch.complete if batch else False,
    )
    with session_scope(engine) as session:
        session.add(run)
    return run


def _close_run(
    engine: Engine,
    run_id: str,
    items: Sequence[PlanItem],
    *,
    status: RunStatus,
    error: str | None = None,
) -> ProvisioningRun:
    problems = [item for item in items if item.action in PROBLEM_ACTIONS or item.outcome == "failed"]
    with session_scope(engine) as session:
        run = get_run(session, run_id)
        run.status = status.value
        run.finished_at = utcnow()
        run.counts = count_actions(items)
        run.problems = [item.model_dump(mode="json") for item in problems]
        run.error = error
        session.add(run)
    return run


def _fail_run(engine: Engine, run_id: str, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    log.error("provisioning.run.failed", run_id=run_id, error=type(exc).__name__)
    with session_scope(engine) as session:
        run = session.get(ProvisioningRun, run_id)
        if run is None:
            return
        run.status = RunStatus.FAILED.value
        run.finished_at = utcnow()
        run.error = message
        session.add(run)


def _last_complete_records(session: Session, source: str) -> int | None:
    query = (
        select(ProvisioningRun)
        .where(ProvisioningRun.source == source)
        .where(col(ProvisioningRun.dry_run).is_(False))
        .where(col(ProvisioningRun.source_complete).is_(True))
        .where(col(ProvisioningRun.status).in_([status.value for status in _APPLIED_STATUSES]))
        .order_by(col(ProvisioningRun.started_at).desc())
    )
    run = session.exec(query).first()
    return run.source_records if run else None


# --- lookups ---


def _accounts_by_employee(session: Session, employee_ids: Sequence[str] | None) -> dict[str, ProvisioningAccount]:
    """Return linked accounts by employee ID: all of them, or those of the given employees."""
    if employee_ids is None:
        return {account.employee_id: account for account in session.exec(select(ProvisioningAccount))}

    accounts: dict[str, ProvisioningAccount] = {}
    for start in range(0, len(employee_ids), _QUERY_CHUNK):
        chunk = employee_ids[start : start + _QUERY_CHUNK]
        query = select(ProvisioningAccount).where(col(ProvisioningAccount.employee_id).in_(chunk))
        accounts.update((account.employee_id, account) for account in session.exec(query))
    return accounts


def _accounts_by_moodle_user(session: Session, user_ids: Sequence[int | None]) -> dict[str, ProvisioningAccount]:
    """Return the accounts linked to the given Moodle users, by employee ID."""
    wanted = [user_id for user_id in user_ids if user_id is not None]
    if not wanted:
        return {}
    query = select(ProvisioningAccount).where(col(ProvisioningAccount.moodle_user_id).in_(wanted))
    return {account.employee_id: account for account in session.exec(query)}


def _people_by_employee(session: Session, employee_ids: Sequence[str]) -> dict[str, Person]:
    people: dict[str, Person] = {}
    unique = sorted(set(employee_ids))
    for start in range(0, len(unique), _QUERY_CHUNK):
        chunk = unique[start : start + _QUERY_CHUNK]
        people.update((person.employee_id, person) for person in session.exec(select(Person).where(col(Person.employee_id).in_(chunk))))
    return people
