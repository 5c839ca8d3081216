"""The outbox worker: claims due rows, delivers them to their targets, records outcomes.

Delivery is at least once: a worker that dies mid-delivery leaves its rows leased, and
the next worker reclaims them once the lease expires and delivers them again. Targets
are idempotent, so the second delivery updates rather than duplicates. Retries wait
with exponential backoff and jitter, and never less than a Retry-After the target sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.errors import InvalidInput
from assistant.db import session_scope
from assistant.results import outbox
from assistant.results.models import OutboxItem, utcnow
from assistant.results.schemas import RESULT_PAYLOAD_ADAPTER
from assistant.results.targets.base import DeliveryItem, DeliveryOutcome, ResultTarget, TargetError

log = structlog.get_logger()


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again and when to give up.

    A retryable failure (timeout, 429, 5xx) is tried up to `max_attempts` times in all.
    A rejection (another 4xx) is tried up to `max_rejected_attempts` times, because a
    fix on the target's side (a missing training type, a permission) can make it pass.
    Delays are in seconds.
    """

    max_attempts: int = 10
    max_rejected_attempts: int = 3
    base_delay: float = 5.0
    max_delay: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_rejected_attempts < 1:
            raise ValueError("max_attempts and max_rejected_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("delays must satisfy 0 <= base_delay <= max_delay")

    def next_delay(self, attempts: int, *, retry_after: float | None, rng: random.Random) -> float:
        """Return the wait before the next attempt after `attempts` failed ones."""
        exponential = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        # Half fixed and half random, so many rows failing together spread out.
        delay = exponential / 2 + rng.uniform(0, exponential / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def gives_up(self, attempts: int, *, retryable: bool) -> bool:
        limit = self.max_attempts if retryable else self.max_rejected_attempts
        return attempts >= limit


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    # Rows whose lease another worker took over before this one finished.
    lost_leases: int = 0

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead
        self.lost_leases += other.lost_leases


def default_owner() -> str:
    """Name this worker process for the lease columns: host, process id and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxWorker:
    """Deliver outbox rows of the given targets.

    `lease_seconds` must exceed the time one claim of `claim_size` rows takes to deliver,
    or another worker may reclaim rows that are still being delivered (harmless, because
    targets are idempotent, but wasted work).
    """

    def __init__(
        self,
        engine: Engine,
        targets: Sequence[ResultTarget],
        *,
        policy: RetryPolicy | None = None,
        owner: str | None = None,
        lease_seconds: float = 300.0,
        claim_size: int = 50,
        concurrency: int = 4,
        poll_interval: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if not targets:
            raise InvalidInput(
                "the outbox worker needs at least one target; set ASSISTANT_RESULTS_TARGETS"
            )
        self._engine = engine
        self._targets = {target.name: target for target in targets}
        self._policy = policy or RetryPolicy()
        self.owner = owner or default_owner()
        self._lease_seconds = lease_seconds
        self._claim_size = claim_size
        self._concurrency = concurrency
        self._poll_interval = poll_interval
        self._rng = rng or random.Random()
        # Target name -> time.monotonic() before which the target asked us not to call it.
        self._paused_until: dict[str, float] = {}

    async def run_once(self) -> DeliveryReport:
        """Claim one batch of due rows per target and deliver them."""
        report = DeliveryReport()
        for target in self._targets.values():
            if self._is_paused(target.name):
                continue
            rows = await asyncio.to_thread(self._claim, target.name)
            report.claimed += len(rows)
            if rows:
                await self._deliver_rows(target, rows, report)
        return report

    async def drain(self) -> DeliveryReport:
        """Deliver until no row is due now; rows scheduled for a later retry stay pending."""
        total = DeliveryReport()
        while True:
            report = await self.run_once()
            total.add(report)
            if report.claimed == 0:
                return total

    async def run(self, stop: asyncio.Event | None = None) -> DeliveryReport:
        """Deliver until `stop` is set and return the totals; the batch in progress finishes first."""
        stop = stop or asyncio.Event()
        total = DeliveryReport()
        log.info("results.worker.started", owner=self.owner, targets=sorted(self._targets))
        while not stop.is_set():
            report = await self.run_once()
            total.add(report)
            if report.claimed:
                continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._poll_interval)
            except TimeoutError:
                pass
        log.info(
            "results.worker.stopped", owner=self.owner, delivered=total.delivered, dead=total.dead
        )
        return total

    def _is_paused(self, target_name: str) -> bool:
        return time.monotonic() < self._paused_until.get(target_name, 0.0)

    def _pause(self, target_name: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self._paused_until.get(target_name, 0.0):
            self._paused_until[target_name] = until
            log.warning("results.target.paused", target=target_name, seconds=round(seconds, 3))

    def _claim(self, target_name: str) -> list[OutboxItem]:
        with session_scope(self._engine) as session:
            return outbox.claim(
                session,
                owner=self.owner,
                target=target_name,
                limit=self._claim_size,
                lease_seconds=self._lease_seconds,
            )

    async def _deliver_rows(
        self, target: ResultTarget, rows: list[OutboxItem], report: DeliveryReport
    ) -> None:
        items, invalid = _to_delivery_items(rows)
        if invalid:
            attempts = {row.id: row.attempts for row in rows if row.id is not None}
            await asyncio.to_thread(self._record, target.name, invalid, attempts, report)

        chunks = [
            items[start : start + target.max_batch]
            for start in range(0, len(items), target.max_batch)
        ]
        semaphore = asyncio.Semaphore(self._concurrency)

        async def deliver_chunk(chunk: list[DeliveryItem]) -> None:
            async with semaphore:
                outcomes = await _call_target(target, chunk)
            attempts = {item.outbox_id: item.attempt for item in chunk}
            await asyncio.to_thread(self._record, target.name, outcomes, attempts, report)

        await asyncio.gather(*(deliver_chunk(chunk) for chunk in chunks))

    def _record(
        self,
        target_name: str,
        outcomes: list[DeliveryOutcome],
        attempts: dict[int, int],
        report: DeliveryReport,
    ) -> None:
        now = utcnow()
        with session_scope(self._engine) as session:
            for outcome in outcomes:
                kept = self._record_one(
                    session, target_name, outcome, attempts.get(outcome.outbox_id, 0), now, report
                )
                if not kept:
                    report.lost_leases += 1

    def _record_one(
        self,
        session: Session,
        target_name: str,
        outcome: DeliveryOutcome,
        attempt: int,
        now: datetime,
        report: DeliveryReport,
    ) -> bool:
        if outcome.delivered:
            report.delivered += 1
            log.debug("results.delivery.delivered", outbox_id=outcome.outbox_id, target=target_name)
            return outbox.mark_delivered(
                session,
                outcome.outbox_id,
                owner=self.owner,
                external_id=outcome.external_id,
                now=now,
            )

        error = outcome.error or "unknown error"
        if outcome.retry_after is not None:
            self._pause(target_name, outcome.retry_after)
        if self._policy.gives_up(attempt, retryable=outcome.retryable):
            report.dead += 1
            log.error(
                "results.delivery.dead",
                outbox_id=outcome.outbox_id,
                target=target_name,
                attempts=attempt,
                error=error,
            )
            return outbox.mark_dead(
                session, outcome.outbox_id, owner=self.owner, error=error, now=now
            )

        delay = self._policy.next_delay(attempt, retry_after=outcome.retry_after, rng=self._rng)
        report.retried += 1
        log.warning(
            "results.delivery.retry",
            outbox_id=outcome.outbox_id,
            target=target_name,
            attempts=attempt,
            delay=round(delay, 3),
            error=error,
        )
        next_attempt_at = now + timedelta(seconds=delay)
        return outbox.mark_retry(
            session,
            outcome.outbox_id,
            owner=self.owner,
            error=error,
            next_attempt_at=next_attempt_at,
            now=now,
        )


def _to_delivery_items(rows: list[OutboxItem]) -> tuple[list[DeliveryItem], list[DeliveryOutcome]]:
    """Parse each row's payload; a payload that no longer parses cannot succeed and is rejected."""
    items: list[DeliveryItem] = []
    invalid: list[DeliveryOutcome] = []
    for row in rows:
        assert row.id is not None
        try:
            payload = RESULT_PAYLOAD_ADAPTER.validate_python(row.payload)
        except ValidationError as exc:
            error = f"invalid payload in outbox row {row.id}: {exc.error_count()} validation errors"
            invalid.append(
                DeliveryOutcome(outbox_id=row.id, delivered=False, retryable=False, error=error)
            )
            continue
        items.append(
            DeliveryItem(
                outbox_id=row.id, key=row.idempotency_key, attempt=row.attempts, payload=payload
            )
        )
    return items, invalid


async def _call_target(target: ResultTarget, chunk: list[DeliveryItem]) -> list[DeliveryOutcome]:
    """Call the target; a raised error becomes an outcome per item, and a missing outcome a retry."""
    try:
        outcomes = await target.deliver(chunk)
    except TargetError as exc:
        log.warning(
            "results.target.failed", target=target.name, items=len(chunk), error=type(exc).__name__
        )
        return [DeliveryOutcome.failure(item, exc) for item in chunk]
    except Exception as exc:
        log.exception("results.target.crashed", target=target.name, items=len(chunk))
        error = f"{type(exc).__name__}: {exc}"
        return [
            DeliveryOutcome(outbox_id=item.outbox_id, delivered=False, error=error)
            for item in chunk
        ]

    requested = {item.outbox_id for item in chunk}
    kept = [outcome for outcome in outcomes if outcome.outbox_id in requested]
    answered = {outcome.outbox_id for outcome in kept}
    for item in chunk:
        if item.outbox_id not in answered:
            error = f"target {target.name} returned no outcome for this item"
            kept.append(DeliveryOutcome(outbox_id=item.outbox_id, delivered=False, error=error))
    return kept
