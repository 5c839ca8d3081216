"""Delivery items shared by the target tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from assistant.results.schemas import CompletionPayload, RoleplayPayload
from assistant.results.targets.base import DeliveryItem

COMPLETED_AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def completion_item(
    outbox_id: int = 1, *, employee_id: str = "E0001", grade: float | None = 85.0
) -> DeliveryItem:
    payload = CompletionPayload(
        employee_id=employee_id,
        course_code="ITSEC-101",
        course_name="IT Security Basics",
        completed_at=COMPLETED_AT,
        completed_on=COMPLETED_AT.date(),
        validity_months=12,
        expires_on=date(2027, 3, 2),
        grade=grade,
        grade_max=100.0 if grade is not None else None,
    )
    return DeliveryItem(
        outbox_id=outbox_id,
        key=f"completion:{employee_id}:ITSEC-101:2026-03-02T14:30:00Z",
        attempt=1,
        payload=payload,
    )


def roleplay_item(outbox_id: int = 2, *, employee_id: str = "E0002") -> DeliveryItem:
    payload = RoleplayPayload(
        employee_id=employee_id,
        attempt_id="att-9",
        scenario_id="price-objection",
        scenario_title='=HYPERLINK("http://example.invalid")',
        score=72.0,
        max_score=100.0,
        passed=True,
        finished_at=COMPLETED_AT,
        finished_on=COMPLETED_AT.date(),
    )
    return DeliveryItem(outbox_id=outbox_id, key="roleplay:att-9", attempt=1, payload=payload)
