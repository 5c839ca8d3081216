"""Apply a plan to Moodle in batches, recording each account link and audit row as its batch returns.

A batch's links and audit rows are committed as soon as Moodle returns that batch, so a run
killed mid-apply loses at most the batches in flight. Users those batches created carry
the employee ID as idnumber, so the next run finds and links them instead of creating
duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assistant.db import session_scope
from assistant.moodle.client import MoodleClient
from assistant.moodle.schemas import BatchResult, UserCreate, UserUpdate
from assistant.people.mapping import MappingConfig, MoodleAccountPolicy
from assistant.provisioning.models import LinkedBy, ProvisioningAccount, ProvisioningAudit, utcnow
from assistant.provisioning.planner import CUSTOM_FIELD_PREFIX, SUSPENDED, PlannedItem, values_hash
from assistant.provisioning.policy import base_username, generate_password, username_candidates
from assistant.provisioning.schemas import PlanAction

log = structlog.get_logger()

_UPDATE_ACTIONS = frozenset({PlanAction.UPDATE, PlanAction.SUSPEND, PlanAction.REACTIVATE})
# Items recorded per transaction; a Moodle batch is usually smaller, link-only items can be many.
_RECORD_CHUNK = 500


async def apply_plan(
    engine: Engine,
    client: MoodleClient,
    planned: Sequence[PlannedItem],
    *,
    run_id: str,
    source: str,
    mapping: MappingConfig,
) -> None:
    """Write the plan's creates, updates, suspensions and reactivations to Moodle and audit them.

    Sets each item's outcome to "applied" or "failed" (with the reason). Raises only what
    stops every item, such as `MoodleConfigError` for an invalid token.
    """
    recorder = _Recorder(engine, run_id=run_id, source=source)
    recorder.record_links([entry for entry in planned if entry.item.action is PlanAction.UNCHANGED and entry.item.link])

    updates = [entry for entry in planned if entry.item.action in _UPDATE_ACTIONS]
    await _in_batches(updates, client.batch_size, lambda batch: _update_batch(client, recorder, batch))

    creates = [entry for entry in planned if entry.item.action is PlanAction.CREATE]
    creates = await _assign_usernames(client, creates, mapping.moodle)
    await _in_batches(creates, client.batch_size, lambda batch: _create_batch(client, recorder, batch, mapping.moodle))


async def _in_batches(
    entries: Sequence[PlannedItem],
    size: int,
    send: Callable[[list[PlannedItem]], Awaitable[None]],
) -> None:
    """Send the batches concurrently; the client's limit bounds the calls in flight.

    A TaskGroup cancels the remaining batches when one raises, so no batch keeps writing
    after the run has failed.
    """
    batches = [list(entries[start : start + size]) for start in range(0, len(entries), size)]
    try:
        async with asyncio.TaskGroup() as group:
            for batch in batches:
                group.create_task(send(batch))
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from errors


# --- updates, suspensions, reactivations ---


async def _update_batch(client: MoodleClient, recorder: _Recorder, batch: list[PlannedItem]) -> None:
    result: BatchResult[UserUpdate] = await client.update_users([_user_update(entry) for entry in batch])
    failed = {failure.index: failure.reason for failure in result.failed}

    for index, entry in enumerate(batch):
        if index in failed:
            _mark_failed(entry, failed[index])
    recorder.record_applied([entry for index, entry in enumerate(batch) if index not in failed])


def _user_update(entry: PlannedItem) -> UserUpdate:
    assert entry.item.moodle_user_id is not None
    fields: dict[str, Any] = {"id": entry.item.moodle_user_id}
    custom: dict[str, str] = {}
    for change in entry.item.changes:
        if change.field == SUSPENDED:
            fields["suspended"] = change.after == "1"
        elif change.field.startswith(CUSTOM_FIELD_PREFIX):
            custom[change.field.removeprefix(CUSTOM_FIELD_PREFIX)] = change.after or ""
        else:
            fields[change.field] = change.after or ""
    if custom:
        fields["customfields"] = custom
    return UserUpdate(**fields)


# --- creates ---


async def _assign_usernames(client: MoodleClient, creates: list[PlannedItem], policy: MoodleAccountPolicy) -> list[PlannedItem]:
    """Give every create a username that Moodle and the other creates do not use, in employee ID order.

    The same Moodle state and the same creates always give the same usernames. Items that
    run out of candidates fail and are left out of the returned list.
    """
    ordered = sorted(creates, key=lambda entry: entry.item.employee_id)
    candidates = {
        id(entry): username_candidates(
            base_username(policy, employee_id=entry.item.employee_id, email=(entry.target.values.get("email") if entry.target else None))
        )
        for entry in ordered
    }
    taken: set[str] = set()
    pending = ordered

    while pending:
        proposals = _propose(pending, candidates, taken)
        found = await client.get_users_by_field("username", sorted(proposals.values())) if proposals else []
        in_moodle = {user.username for user in found}
        taken |= set(proposals.values())

        retry: list[PlannedItem] = []
        for entry in pending:
            username = proposals.get(id(entry))
            if username is None:
                continue
            if username in in_moodle:
                retry.append(entry)
            else:
                entry.item.username = username
        pending = retry

    return [entry for entry in ordered if entry.item.outcome != "failed"]


def _propose(pending: list[PlannedItem], candidates: dict[int, Any], taken: set[str]) -> dict[int, str]:
    proposals: dict[int, str] = {}
    for entry in pending:
        username = next((name for name in candidates[id(entry)] if name not in taken and name not in proposals.values()), None)
        if username is None:
            _mark_failed(entry, "no free username: the derived username and its numbered variants are all taken in Moodle")
            continue
        proposals[id(entry)] = username
    return proposals


async def _create_batch(client: MoodleClient, recorder: _Recorder, batch: list[PlannedItem], policy: MoodleAccountPolicy) -> None:
    result = await client.create_users([_user_create(entry, policy) for entry in batch])
    failed = {failure.index: failure.reason for failure in result.failed}
    created = {user.username: user for user in result.succeeded}

    applied: list[PlannedItem] = []
    for index, entry in enumerate(batch):
        user = created.get(entry.item.username or "")
        if index in failed or user is None:
            _mark_failed(entry, failed.get(index, "Moodle did not return the created user"))
            continue
        entry.item.moodle_user_id = user.id
        entry.item.link = LinkedBy.CREATED
        applied.append(entry)
    recorder.record_applied(applied)


def _user_create(entry: PlannedItem, policy: MoodleAccountPolicy) -> UserCreate:
    assert entry.target is not None and entry.item.username is not None
    values = entry.target.values
    standard = {name: value for name, value in values.items() if value and not name.startswith(CUSTOM_FIELD_PREFIX)}
    custom = {name.removeprefix(CUSTOM_FIELD_PREFIX): value for name, value in values.items() if value and name.startswith(CUSTOM_FIELD_PREFIX)}

    password: SecretStr | None = None
    create_password = False
    if policy.auth == "manual" and policy.password == "generate":
        password = SecretStr(generate_password())
    elif policy.auth == "manual":
        create_password = True

    return UserCreate(
        username=entry.item.username,
        auth=policy.auth,
        password=password,
        create_password=create_password,
        customfields=custom,
        **standard,
    )


def _mark_failed(entry: PlannedItem, reason: str) -> None:
    entry.item.outcome = "failed"
    entry.item.error = reason
    log.warning("provisioning.item.failed", employee_id=entry.item.employee_id, action=entry.item.action.value)


# --- recording ---


class _Recorder:
    """Commits account links and audit rows for the items Moodle applied, one batch per transaction."""

    def __init__(self, engine: Engine, *, run_id: str, source: str) -> None:
        self.engine = engine
        self.run_id = run_id
        self.source = source

    def record_links(self, entries: Sequence[PlannedItem]) -> None:
        """Store links to existing Moodle users whose values already match; nothing is written to Moodle."""
        self.record_applied(entries)

    def record_applied(self, entries: Sequence[PlannedItem]) -> None:
        for start in range(0, len(entries), _RECORD_CHUNK):
            chunk = entries[start : start + _RECORD_CHUNK]
            with session_scope(self.engine) as session:
                accounts = _accounts_of(session, [entry.item.employee_id for entry in chunk])
                for entry in chunk:
                    self._record_one(session, entry, accounts.get(entry.item.employee_id))
                session.flush()

                # Plain rows in one executemany: building thousands of models costs more than the insert.
                rows = [row for entry in chunk for row in self._audit_rows(entry)]
                if rows:
                    session.execute(insert(ProvisioningAudit), rows)
            for entry in chunk:
                entry.item.outcome = "applied"

    def _record_one(self, session: Session, entry: PlannedItem, account: ProvisioningAccount | None) -> None:
        item = entry.item
        assert item.moodle_user_id is not None
        if account is None:
            account = ProvisioningAccount(
                employee_id=item.employee_id,
                moodle_user_id=item.moodle_user_id,
                username=item.username or "",
                linked_by=(item.link or LinkedBy.IDNUMBER).value,
            )
        elif item.link is not None:
            account.moodle_user_id = item.moodle_user_id
            account.username = item.username or account.username
            account.linked_by = item.link.value

        pushed = dict(account.pushed_values)
        if item.action is PlanAction.CREATE and entry.target is not None:
            # A new account contains exactly the target values, because empty ones were left unset.
            pushed.update(entry.target.values)
        pushed.update(entry.verified)
        pushed.update({change.field: change.after or "" for change in item.changes if change.field != SUSPENDED})
        account.pushed_values = pushed
        account.pushed_hash = values_hash(pushed)
        account.suspended = _suspended_after(entry)
        account.updated_at = utcnow()
        session.add(account)

    def _audit_rows(self, entry: PlannedItem) -> list[dict[str, Any]]:
        item = entry.item
        rows: list[dict[str, Any]] = []
        if item.link is not None and item.link is not LinkedBy.CREATED:
            rows.append(self._audit(item.employee_id, item.moodle_user_id, "link", "linked_by", None, item.link.value))
        if item.action is PlanAction.CREATE:
            rows.append(self._audit(item.employee_id, item.moodle_user_id, "create", "username", None, item.username))
        if item.action is PlanAction.UNCHANGED:
            return rows
        for change in item.changes:
            rows.append(self._audit(item.employee_id, item.moodle_user_id, item.action.value, change.field, change.before, change.after))
        return rows

    def _audit(
        self,
        employee_id: str,
        moodle_user_id: int | None,
        action: str,
        field: str,
        before: str | None,
        after: str | None,
    ) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "employee_id": employee_id,
            "moodle_user_id": moodle_user_id,
            "action": action,
            "field": field,
            "before": before,
            "after": after,
            "at": utcnow(),
            "source": self.source,
        }


def _accounts_of(session: Session, employee_ids: list[str]) -> dict[str, ProvisioningAccount]:
    query = select(ProvisioningAccount).where(col(ProvisioningAccount.employee_id).in_(employee_ids))
    return {account.employee_id: account for account in session.exec(query)}


def _suspended_after(entry: PlannedItem) -> bool:
    for change in entry.item.changes:
        if change.field == SUSPENDED:
            return change.after == "1"
    return entry.moodle_suspended

