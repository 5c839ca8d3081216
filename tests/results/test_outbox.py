from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from assistant.db import session_scope
from assistant.results import outbox
from assistant.results.models import CourseCompletion, OutboxItem, OutboxStatus, RoleplayResult
from assistant.results.service import completion_key, record_completion, record_roleplay_result
from tests.results.fakes import add_completions

COMPLETED_AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _completion(employee_id: str = "E0001") -> CourseCompletion:
    return CourseCompletion(
        employee_id=employee_id,
        course_id=3,
        course_code="ITSEC-101",
        course_name="IT Security Basics",
        completed_at=COMPLETED_AT,
        grade=95.0,
        grade_max=110.0,
    )


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as session:
        return len(list(session.exec(select(model))))


class TestRecordCompletion:
    def test_writes_one_outbox_row_per_target(self, engine: Engine) -> None:
        with session_scope(engine) as session:
            record_completion(session, _completion(), targets=["bamboohr", "csv"])

        with session_scope(engine) as session:
            rows = list(session.exec(select(OutboxItem).order_by(OutboxItem.target)))

        assert [row.target for row in rows] == ["bamboohr", "csv"]
        assert {row.idempotency_key for row in rows} == {
            completion_key("E0001", "ITSEC-101", COMPLETED_AT)
        }
        assert rows[0].status == OutboxStatus.PENDING
        assert rows[0].payload["grade"] == 95.0
        assert rows[0].payload["completed_on"] == "2026-03-02"

    def test_failure_after_insert_leaves_neither(self, engine: Engine) -> None:
        with pytest.raises(RuntimeError, match="after the insert"):
            with session_scope(engine) as session:
                record_completion(session, _completion(), targets=["bamboohr"])
                raise RuntimeError("failure after the insert")

        assert _count(engine, CourseCompletion) == 0
        assert _count(engine, OutboxItem) == 0

    def test_second_record_adds_nothing(self, engine: Engine) -> None:
        with session_scope(engine) as session:
            first = record_completion(session, _completion(), targets=["bamboohr"])
        with session_scope(engine) as session:
            second = record_completion(session, _completion(), targets=["bamboohr"])

        assert first is not None
        assert second is None
        assert _count(engine, CourseCompletion) == 1
        assert _count(engine, OutboxItem) == 1

    def test_roleplay_attempt_is_recorded_once(self, engine: Engine) -> None:
        def attempt() -> RoleplayResult:
            return RoleplayResult(
                attempt_id="att-1",
                employee_id="E0001",
                scenario_id="angry-customer",
                scenario_title="Angry customer",
                score=72.0,
                passed=True,
                finished_at=COMPLETED_AT,
            )

        with session_scope(engine) as session:
            record_roleplay_result(session, attempt(), targets=["webhook"])
        with session_scope(engine) as session:
            again = record_roleplay_result(session, attempt(), targets=["webhook"])
            rows = list(session.exec(select(OutboxItem)))

        assert again is None
        assert len(rows) == 1
        assert rows[0].idempotency_key == "roleplay:att-1"
        assert rows[0].payload["passed"] is True


class TestClaim:
    def test_claimed_rows_are_leased_to_one_owner(self, engine: Engine) -> None:
        add_completions(engine, 3, targets=["bamboohr"])

        with session_scope(engine) as session:
            first = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=2, lease_seconds=60
            )
        with session_scope(engine) as session:
            second = outbox.claim(
                session, owner="worker-b", target="bamboohr", limit=10, lease_seconds=60
            )

        assert len(first) == 2
        assert all(row.status == OutboxStatus.IN_FLIGHT and row.attempts == 1 for row in first)
        assert [row.lease_owner for row in second] == ["worker-b"]
        assert {row.id for row in first}.isdisjoint({row.id for row in second})

    def test_other_target_rows_are_not_claimed(self, engine: Engine) -> None:
        add_completions(engine, 2, targets=["csv"])

        with session_scope(engine) as session:
            claimed = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=10, lease_seconds=60
            )

        assert claimed == []

    def test_expired_lease_is_reclaimed_and_old_owner_fenced(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["bamboohr"])
        with session_scope(engine) as session:
            [row] = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=1, lease_seconds=30
            )

        later = datetime.now(UTC) + timedelta(seconds=31)
        with session_scope(engine) as session:
            reclaimed = outbox.claim(
                session, owner="worker-b", target="bamboohr", limit=1, lease_seconds=30, now=later
            )
        with session_scope(engine) as session:
            stale_write = outbox.mark_delivered(session, row.id, owner="worker-a")
            fresh_write = outbox.mark_delivered(session, row.id, owner="worker-b")

        assert [item.id for item in reclaimed] == [row.id]
        assert reclaimed[0].attempts == 2
        assert stale_write is False
        assert fresh_write is True

    def test_row_waiting_for_retry_is_not_due(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["bamboohr"])
        with session_scope(engine) as session:
            [row] = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=1, lease_seconds=30
            )
            outbox.mark_retry(
                session,
                row.id,
                owner="worker-a",
                error="HTTP 503",
                next_attempt_at=datetime.now(UTC) + timedelta(hours=1),
            )

        with session_scope(engine) as session:
            claimed = outbox.claim(
                session, owner="worker-b", target="bamboohr", limit=1, lease_seconds=30
            )

        assert claimed == []


class TestRetry:
    def _dead_row(self, engine: Engine) -> int:
        add_completions(engine, 1, targets=["bamboohr"])
        with session_scope(engine) as session:
            [row] = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=1, lease_seconds=30
            )
            outbox.mark_dead(session, row.id, owner="worker-a", error="TargetRejected: HTTP 400")
        assert row.id is not None
        return row.id

    def test_dead_row_becomes_due_again(self, engine: Engine) -> None:
        row_id = self._dead_row(engine)

        with session_scope(engine) as session:
            outbox.retry(session, row_id)
        with session_scope(engine) as session:
            item = outbox.get_item(session, row_id)

        assert item.status == OutboxStatus.PENDING
        assert item.attempts == 0
        assert item.last_error == "TargetRejected: HTTP 400"

    def test_delivered_row_cannot_be_retried(self, engine: Engine) -> None:
        add_completions(engine, 1, targets=["bamboohr"])
        with session_scope(engine) as session:
            [row] = outbox.claim(
                session, owner="worker-a", target="bamboohr", limit=1, lease_seconds=30
            )
            outbox.mark_delivered(session, row.id, owner="worker-a")

        with session_scope(engine) as session:
            with pytest.raises(outbox.OutboxRetryConflict, match="is delivered"):
                outbox.retry(session, row.id)

    def test_unknown_row_is_not_found(self, engine: Engine) -> None:
        with session_scope(engine) as session:
            with pytest.raises(outbox.OutboxItemNotFound, match="no outbox item with id 999"):
                outbox.retry(session, 999)

    def test_retry_all_dead_counts_rows(self, engine: Engine) -> None:
        self._dead_row(engine)

        with session_scope(engine) as session:
            count = outbox.retry_all_dead(session)
        with session_scope(engine) as session:
            counts = outbox.count_by_status(session)

        assert count == 1
        assert counts["pending"] == 1
        assert counts["dead"] == 0
