"""In-memory stand-ins for delivery targets and helpers that build results for tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.results.models import CourseCompletion
from assistant.results.service import record_completion
from assistant.results.targets.base import DeliveryItem, DeliveryOutcome, TargetError


@dataclass
class MemoryTarget:
    """A target that stores results by idempotency key and fails on a script.

    `failures` maps an idempotency key to errors raised on its first attempts, in order.
    """

    name: str = "memory"
    max_batch: int = 10
    failures: dict[str, list[TargetError]] = field(default_factory=dict)
    stored: dict[str, DeliveryItem] = field(default_factory=dict)
    calls: int = 0

    async def deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        self.calls += 1
        outcomes = []
        for item in items:
            script = self.failures.get(item.key)
            if script:
                outcomes.append(DeliveryOutcome.failure(item, script.pop(0)))
                continue
            self.stored[item.key] = item
            outcomes.append(DeliveryOutcome.success(item, external_id=f"ext-{item.outbox_id}"))
        return outcomes


def add_completions(
    engine: Engine,
    count: int,
    *,
    targets: Sequence[str],
    course_code: str = "COC-101",
    start: datetime = datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
) -> list[str]:
    """Record `count` completions by distinct people and return their employee ids."""
    employee_ids = [f"E{number:05d}" for number in range(count)]
    with session_scope(engine) as session:
        for employee_id in employee_ids:
            completion = CourseCompletion(
                employee_id=employee_id,
                course_id=2,
                course_code=course_code,
                course_name="Code of Conduct",
                completed_at=start,
                grade=85.0,
                grade_max=100.0,
            )
            record_completion(session, completion, targets=targets)
    return employee_ids
