"""The delivery outbox: rows written with each result, claimed with a lease, finished once.

Rows are written in the caller's transaction, so a result and its deliveries commit or
roll back together. A worker claims due rows by setting a lease in one UPDATE whose
candidate subquery uses `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers
never claim the same row. SQLite ignores that clause; there the single UPDATE is atomic
because SQLite runs one writer at a time. A lease that expires (the worker died) makes
the row claimable again. Every finishing UPDATE checks the lease owner, so a worker that
lost its lease cannot overwrite the row's newer state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from assistant.errors import Conflict, NotFound
from assistant.results.models import OutboxItem, OutboxStatus, utcnow

log = structlog.get_logger()


class OutboxItemNotFound(NotFound):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"no outbox item with id {item_id}")


class OutboxRetryConflict(Conflict):
    def __init__(self, item_id: int, status: str) -> None:
        super().__init__(
            f"outbox item {item_id} is {status}; only dead or pending items can be retried"
        )


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    employee_id: str,
    payload: Mapping[str, Any],
    targets: Sequence[str],
) -> list[OutboxItem]:
    """Add one pending row per target in the caller's transaction; the caller commits."""
    items = [
        OutboxItem(
            target=target,
            idempotency_key=key,
            kind=kind,
            employee_id=employee_id,
            payload=dict(payload),
        )
        for target in targets
    ]
    session.add_all(items)
    session.flush()
    return items


def _due_clause(now: datetime) -> Any:
    pending_and_due = and_(
        col(OutboxItem.status) == OutboxStatus.PENDING, col(OutboxItem.next_attempt_at) <= now
    )
    lease_expired = and_(
        col(OutboxItem.status) == OutboxStatus.IN_FLIGHT, col(OutboxItem.lease_expires_at) < now
    )
    return or_(pending_and_due, lease_expired)


def claim(
    session: Session,
    *,
    owner: str,
    target: str,
    limit: int,
    lease_seconds: float,
    now: datetime | None = None,
) -> list[OutboxItem]:
    """Lease up to `limit` due rows of one target to `owner` and count the attempt.

    The caller commits at once, so other workers see the lease.
    """
    now = now or utcnow()
    # MATERIALIZED makes PostgreSQL run the locking SELECT once; inlined as a subquery it
    # may be rescanned per row and return more than `limit` rows.
    candidates = (
        select(OutboxItem.id)
        .where(col(OutboxItem.target) == target, _due_clause(now))
        .order_by(col(OutboxItem.next_attempt_at), col(OutboxItem.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due_outbox")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    statement = (
        update(OutboxItem)
        .where(col(OutboxItem.id) == candidates.c.id, _due_clause(now))
        .values(
            status=OutboxStatus.IN_FLIGHT,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=col(OutboxItem.attempts) + 1,
            updated_at=now,
        )
        .returning(col(OutboxItem.id))
        .execution_options(synchronize_session=False)
    )
    claimed_ids = list(session.execute(statement).scalars())
    if not claimed_ids:
        return []

    query = (
        select(OutboxItem)
        .where(col(OutboxItem.id).in_(claimed_ids))
        .order_by(col(OutboxItem.id))
        .execution_options(populate_existing=True)
    )
    return list(session.exec(query))


def _finish(session: Session, item_id: int, *, owner: str, values: Mapping[str, Any]) -> bool:
    statement = (
        update(OutboxItem)
        .where(
            col(OutboxItem.id) == item_id,
            col(OutboxItem.lease_owner) == owner,
            col(OutboxItem.status) == OutboxStatus.IN_FLIGHT,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    updated = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    if not updated:
        log.warning("results.outbox.lease_lost", outbox_id=item_id, owner=owner)
    return updated


def mark_delivered(
    session: Session,
    item_id: int,
    *,
    owner: str,
    external_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark a leased row delivered; False when the lease was lost to another worker."""
    now = now or utcnow()
    values = {
        "status": OutboxStatus.DELIVERED,
        "delivered_at": now,
        "updated_at": now,
        "external_id": external_id,
        "last_error": None,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    return _finish(session, item_id, owner=owner, values=values)


def mark_retry(
    session: Session,
    item_id: int,
    *,
    owner: str,
    error: str,
    next_attempt_at: datetime,
    now: datetime | None = None,
) -> bool:
    """Put a leased row back to pending until `next_attempt_at`, keeping the error."""
    values = {
        "status": OutboxStatus.PENDING,
        "next_attempt_at": next_attempt_at,
        "last_error": error,
        "updated_at": now or utcnow(),
        "lease_owner": None,
        "lease_expires_at": None,
    }
    return _finish(session, item_id, owner=owner, values=values)


def mark_dead(
    session: Session, item_id: int, *, owner: str, error: str, now: datetime | None = None
) -> bool:
    """Move a leased row to the dead letters with its last error."""
    values = {
        "status": OutboxStatus.DEAD,
        "last_error": error,
        "updated_at": now or utcnow(),
        "lease_owner": None,
        "lease_expires_at": None,
    }
    return _finish(session, item_id, owner=owner, values=values)


def get_item(session: Session, item_id: int) -> OutboxItem:
    item = session.get(OutboxItem, item_id)
    if item is None:
        raise OutboxItemNotFound(item_id)
    return item


def list_items(
    session: Session,
    *,
    status: OutboxStatus | None = None,
    target: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OutboxItem]:
    """List outbox rows, oldest first, optionally of one status and one target."""
    query = select(OutboxItem).order_by(col(OutboxItem.id)).limit(limit).offset(offset)
    if status is not None:
        query = query.where(col(OutboxItem.status) == status)
    if target is not None:
        query = query.where(col(OutboxItem.target) == target)
    return list(session.exec(query))


def count_by_status(session: Session) -> dict[str, int]:
    query = select(OutboxItem.status, func.count()).group_by(col(OutboxItem.status))
    counts = {status.value: 0 for status in OutboxStatus}
    for status, count in session.exec(query):
        counts[status] = count
    return counts


def retry(session: Session, item_id: int, *, now: datetime | None = None) -> OutboxItem:
    """Make a dead (or waiting) row due now with a fresh attempt budget; the caller commits.

    Raises OutboxItemNotFound for an unknown id and OutboxRetryConflict for a row that is
    delivered or being delivered.
    """
    item = get_item(session, item_id)
    if item.status not in (OutboxStatus.DEAD, OutboxStatus.PENDING):
        raise OutboxRetryConflict(item_id, item.status)

    now = now or utcnow()
    item.status = OutboxStatus.PENDING
    item.attempts = 0
    item.next_attempt_at = now
    item.updated_at = now
    session.flush()
    log.info("results.outbox.retry_requested", outbox_id=item_id, target=item.target)
    return item


def retry_all_dead(
    session: Session, *, target: str | None = None, now: datetime | None = None
) -> int:
    """Make every dead row (of one target, if given) due now; returns how many. The caller commits."""
    now = now or utcnow()
    statement = (
        update(OutboxItem)
        .where(col(OutboxItem.status) == OutboxStatus.DEAD)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if target is not None:
        statement = statement.where(col(OutboxItem.target) == target)
    count = int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    log.info("results.outbox.retry_requested", count=count, target=target)
    return count
