from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from assistant.errors import InvalidInput
from assistant.db import session_scope
from assistant.results import outbox
from assistant.results.models import OutboxItem, OutboxStatus
from assistant.results.service import completion_key
from assistant.results.targets.base import TargetRejected, TargetUnavailable
from assistant.results.worker import OutboxWorker, RetryPolicy
from tests.results.fakes import MemoryTarget, add_completions

NO_WAIT = RetryPolicy(max_attempts=4, max_rejected_attempts=2, base_delay=0.0, max_delay=0.0)
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _key(employee_id: str) -> str:
    return completion_key(employee_id, "COC-101", START)


def _items(engine: Engine) -> dict[str, OutboxItem]:
    with session_scope(engine) as session:
        return {item.employee_id: item for item in outbox.list_items(session, limit=10_000)}


class TestRetryPolicy:
    def test_delay_doubles_within_jitter(self) -> None:
        policy = RetryPolicy(base_delay=10.0, max_delay=1000.0)
        rng = random.Random(1)

        delays = [policy.next_delay(attempts, retry_after=None, rng=rng) for attempts in (1, 2, 3)]

        assert 5.0 <= delays[0] <= 10.0
        assert 10.0 <= delays[1] <= 20.0
        assert 20.0 <= delays[2] <= 40.0

    def test_delay_never_shorter_than_retry_after(self) -> None:
        policy = RetryPolicy(base_delay=1.0, max_delay=600.0)

        delay = policy.next_delay(1, retry_after=120.0, rng=random.Random(1))

        assert delay >= 120.0

    def test_delay_capped_at_max(self) -> None:
        policy = RetryPolicy(base_delay=10.0, max_delay=60.0)

        delay = policy.next_delay(20, retry_after=None, rng=random.Random(1))

        assert delay <= 60.0

    def test_invalid_policy_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            RetryPolicy(max_attempts=0)


class TestWorker:
    async def test_delivers_every_row(self, engine: Engine) -> None:
        employee_ids = add_completions(engine, 25, targets=["memory"])
        target = MemoryTarget(max_batch=10)

        report = await OutboxWorker(engine, [target], policy=NO_WAIT).drain()

        assert report.delivered == 25
        assert sorted(item.payload.employee_id for item in target.stored.values()) == employee_ids
        assert target.calls == 3
        items = _items(engine)
        assert {item.status for item in items.values()} == {OutboxStatus.DELIVERED}
        assert items["E00000"].external_id is not None

    async def test_retryable_failure_then_success(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])
        target = MemoryTarget(
            failures={
                _key("E00000"): [TargetUnavailable("HTTP 503"), TargetUnavailable("HTTP 503")]
            }
        )

        report = await OutboxWorker(engine, [target], policy=NO_WAIT).drain()

        item = _items(engine)["E00000"]
        assert report.retried == 2
        assert item.status == OutboxStatus.DELIVERED
        assert item.attempts == 3
        assert item.last_error is None

    async def test_retry_after_sets_next_attempt(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])
        target = MemoryTarget(
            failures={_key("E00000"): [TargetUnavailable("HTTP 429", retry_after=90.0)]}
        )
        before = datetime.now(UTC)

        report = await OutboxWorker(engine, [target], policy=NO_WAIT).drain()

        item = _items(engine)["E00000"]
        assert report.retried == 1
        assert item.status == OutboxStatus.PENDING
        assert item.next_attempt_at >= before + timedelta(seconds=90)
        assert item.last_error == "TargetUnavailable: HTTP 429"

    async def test_rejection_is_dead_after_its_retries(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])
        rejection = TargetRejected("HTTP 400: unknown training type")
        target = MemoryTarget(failures={_key("E00000"): [rejection, rejection, rejection]})

        report = await OutboxWorker(engine, [target], policy=NO_WAIT).drain()

        item = _items(engine)["E00000"]
        assert report.dead == 1
        assert item.status == OutboxStatus.DEAD
        assert item.attempts == 2
        assert item.last_error == "TargetRejected: HTTP 400: unknown training type"
        assert target.stored == {}

    async def test_repeated_unavailability_is_dead_at_max_attempts(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])
        target = MemoryTarget(failures={_key("E00000"): [TargetUnavailable("timed out")] * 10})

        await OutboxWorker(engine, [target], policy=NO_WAIT).drain()

        item = _items(engine)["E00000"]
        assert item.status == OutboxStatus.DEAD
        assert item.attempts == NO_WAIT.max_attempts

    async def test_crashing_target_is_retried(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])

        class CrashingTarget(MemoryTarget):
            async def deliver(self, items):  # type: ignore[no-untyped-def]
                raise KeyError("bug in target")

        report = await OutboxWorker(engine, [CrashingTarget()], policy=NO_WAIT).run_once()

        item = _items(engine)["E00000"]
        assert report.retried == 1
        assert item.status == OutboxStatus.PENDING
        assert "KeyError" in (item.last_error or "")

    async def test_invalid_payload_is_rejected(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["memory"])
        with session_scope(engine) as session:
            row = outbox.list_items(session)[0]
            row.payload = {"kind": "course_completion"}

        await OutboxWorker(engine, [MemoryTarget()], policy=NO_WAIT).drain()

        item = _items(engine)["E00000"]
        assert item.status == OutboxStatus.DEAD
        assert "invalid payload" in (item.last_error or "")

    def test_two_workers_never_claim_the_same_row(self, engine: Engine) -> None:
        add_completions(engine, 60, targets=["memory"])
        claimed: dict[str, list[int]] = {"a": [], "b": []}

        def claim_all(owner: str) -> None:
            while True:
                with session_scope(engine) as session:
                    rows = outbox.claim(
                        session, owner=owner, target="memory", limit=7, lease_seconds=60
                    )
                if not rows:
                    return
                claimed[owner].extend(row.id for row in rows if row.id is not None)

        threads = [threading.Thread(target=claim_all, args=(owner,)) for owner in claimed]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        all_ids = claimed["a"] + claimed["b"]
        assert len(all_ids) == 60
        assert len(set(all_ids)) == 60

    def test_worker_needs_a_target(self, engine: Engine) -> None:
        with pytest.raises(InvalidInput, match="at least one target"):
            OutboxWorker(engine, [])
