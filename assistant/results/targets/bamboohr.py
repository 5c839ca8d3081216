"""BambooHR target: a training type per course or roleplay scenario, a training record per result.

A course's training type is created on first use, renewable every `validity_months`
when the course has a validity. Each completion becomes a training record dated on the
completion day. Before adding, the target lists the employee's records of that type and
updates the one that carries the same idempotency key in its notes, or, for a course
completion, the one with the same completion date. So a repeated delivery updates and
never duplicates.

Grades and roleplay scores go into the record's notes as one line of `name=value`
pairs, for example `assistant:v1 key=completion%3AE1%3AITSEC-101%3A2026-03-02T14%3A30%3A00Z
grade=95/110 act.Phishing%20quiz=10/10`. Values are percent-encoded, so they never
contain spaces. A grade Moodle could not show is written as `grade=unavailable`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from urllib.parse import quote

import structlog

from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.exceptions import BambooHRError, BambooHRRejected, BambooHRUnavailable
from assistant.hris.bamboohr.schemas import (
    TrainingRecord,
    TrainingRecordWrite,
    TrainingType,
    TrainingTypeWrite,
)
from assistant.results.schemas import CompletionPayload, RoleplayPayload
from assistant.results.targets.base import (
    DeliveryItem,
    DeliveryOutcome,
    TargetError,
    TargetRejected,
    TargetUnavailable,
)

log = structlog.get_logger()

NOTES_PREFIX = "assistant:v1"
# BambooHR training category that groups the types this target creates.
DEFAULT_CATEGORY = "Learning (assistant)"

# BambooHR's own employee id field; the training record endpoints take this id.
BAMBOOHR_ID_FIELD = "id"


def _encode(value: str) -> str:
    return quote(value, safe="")


def _number(value: float | None) -> str:
    if value is None:
        return "unavailable"
    return f"{value:g}"


def _fraction(value: float | None, maximum: float | None) -> str:
    if value is None:
        return "unavailable"
    if maximum is None:
        return _number(value)
    return f"{value:g}/{maximum:g}"


# TODO(#6): write scores to a BambooHR custom table when one is configured. The
# client has no table endpoints yet, so scores go only into the record notes.
def record_notes(key: str, payload: CompletionPayload | RoleplayPayload) -> str:
    """Build the structured notes line for a training record."""
    parts = [NOTES_PREFIX, f"key={_encode(key)}"]
    if isinstance(payload, CompletionPayload):
        parts.append(f"grade={_fraction(payload.grade, payload.grade_max)}")
        for activity in payload.activities:
            parts.append(
                f"act.{_encode(activity.name)}={_fraction(activity.grade, activity.grade_max)}"
            )
        return " ".join(parts)

    parts.append(f"attempt={_encode(payload.attempt_id)}")
    parts.append(f"score={_fraction(payload.score, payload.max_score)}")
    parts.append(f"pass={1 if payload.passed else 0}")
    return " ".join(parts)


def notes_key(notes: str | None) -> str | None:
    """Return the percent-encoded idempotency key written by `record_notes`, if the notes carry one."""
    if not notes or not notes.startswith(NOTES_PREFIX):
        return None
    for part in notes.split():
        if part.startswith("key="):
            return part.removeprefix("key=")
    return None


def training_type_for(
    payload: CompletionPayload | RoleplayPayload, *, category: str | None
) -> TrainingTypeWrite:
    """Describe the training type a result belongs to; its name is what the target matches on."""
    if isinstance(payload, RoleplayPayload):
        name = f"Roleplay {payload.scenario_id}: {payload.scenario_title}"
        return TrainingTypeWrite(name=name[:200], category=category)

    name = f"{payload.course_code}: {payload.course_name}"
    months = payload.validity_months
    return TrainingTypeWrite(
        name=name[:200], renewable=months is not None, frequency=months, category=category
    )


def _completed_on(payload: CompletionPayload | RoleplayPayload) -> date:
    return payload.completed_on if isinstance(payload, CompletionPayload) else payload.finished_on


def _target_error(exc: BambooHRError) -> TargetError:
    if isinstance(exc, BambooHRUnavailable):
        return TargetUnavailable(exc.message, retry_after=exc.retry_after)
    return TargetRejected(exc.message)


class BambooHRTarget:
    name = "bamboohr"
    max_batch = 10

    def __init__(
        self,
        client: BambooHRClient,
        *,
        employee_id_field: str = BAMBOOHR_ID_FIELD,
        category: str | None = DEFAULT_CATEGORY,
    ) -> None:
        """`employee_id_field` is the BambooHR field that contains HR's employee ID ("id" or, for
        example, "employeeNumber"), as the mapping file's bamboohr source maps employee_id."""
        self._client = client
        self._employee_id_field = employee_id_field
        self._category = category
        self._types: dict[str, TrainingType] | None = None
        self._types_lock = asyncio.Lock()
        # HR employee ID -> BambooHR id, read from a custom report when the fields differ.
        self._bamboo_ids: dict[str, str] | None = None
        self._ids_lock = asyncio.Lock()

    async def deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        outcomes = []
        for item in items:
            try:
                record_id = await self._deliver_one(item)
            except BambooHRError as exc:
                outcomes.append(DeliveryOutcome.failure(item, _target_error(exc)))
                continue
            outcomes.append(DeliveryOutcome.success(item, external_id=str(record_id)))
        return outcomes

    async def _deliver_one(self, item: DeliveryItem) -> int:
        payload = item.payload
        training_type = await self._training_type(
            training_type_for(payload, category=self._category)
        )
        bamboo_id = await self._bamboo_id(payload.employee_id)
        record = TrainingRecordWrite(
            completed=_completed_on(payload),
            type_id=training_type.id,
            notes=record_notes(item.key, payload),
        )

        try:
            existing = await self._client.list_training_records(bamboo_id, type_id=training_type.id)
            match = _matching_record(existing, item)
            if match is not None:
                await self._client.update_training_record(match.id, record)
                log.info(
                    "results.bamboohr.record_updated", outbox_id=item.outbox_id, record_id=match.id
                )
                return match.id
            added = await self._client.add_training_record(bamboo_id, record)
        except BambooHRRejected:
            # The type may have been deleted in BambooHR since it was cached; look it up again next time.
            self._forget_types()
            raise
        log.info(
            "results.bamboohr.record_added",
            outbox_id=item.outbox_id,
            record_id=added.id,
            type_id=training_type.id,
        )
        return added.id

    async def _training_type(self, expected: TrainingTypeWrite) -> TrainingType:
        """Return the training type with the expected name, creating or adjusting it when needed."""
        async with self._types_lock:
            if self._types is None:
                self._types = _by_name(await self._client.list_training_types())
            current = self._types.get(expected.name)
            if current is None:
                current = await self._client.add_training_type(expected)
                log.info(
                    "results.bamboohr.type_created",
                    type_id=current.id,
                    renewable=expected.renewable,
                )
            elif (current.renewable, current.frequency) != (expected.renewable, expected.frequency):
                current = await self._client.update_training_type(current.id, expected)
                log.info(
                    "results.bamboohr.type_updated",
                    type_id=current.id,
                    frequency=expected.frequency,
                )
            self._types[expected.name] = current
            return current

    async def _bamboo_id(self, employee_id: str) -> str:
        """Translate HR's employee ID to BambooHR's id; the report is read again once on a miss.

        Raises BambooHRRejected when no BambooHR employee has that employee ID.
        """
        if self._employee_id_field == BAMBOOHR_ID_FIELD:
            return employee_id

        async with self._ids_lock:
            if self._bamboo_ids is None or employee_id not in self._bamboo_ids:
                report = await self._client.custom_report(
                    [BAMBOOHR_ID_FIELD, self._employee_id_field]
                )
                self._bamboo_ids = {
                    str(value): employee.id
                    for employee in report.employees
                    if (value := employee.values.get(self._employee_id_field))
                }
            bamboo_id = self._bamboo_ids.get(employee_id)
        if bamboo_id is None:
            raise BambooHRRejected(
                f"no BambooHR employee has {self._employee_id_field} {employee_id!r}"
            )
        return bamboo_id

    def _forget_types(self) -> None:
        # Reload the whole list on next use, in case another process recreated the type.
        self._types = None


def _by_name(types: list[TrainingType]) -> dict[str, TrainingType]:
    """Index types by name; with duplicate names the oldest (lowest id) wins, so every worker picks the same."""
    index: dict[str, TrainingType] = {}
    for training_type in sorted(types, key=lambda entry: entry.id):
        index.setdefault(training_type.name, training_type)
    return index


def _matching_record(records: list[TrainingRecord], item: DeliveryItem) -> TrainingRecord | None:
    expected_key = _encode(item.key)
    for record in records:
        if notes_key(record.notes) == expected_key:
            return record

    if isinstance(item.payload, CompletionPayload):
        completed_on = item.payload.completed_on
        return next((record for record in records if record.completed == completed_on), None)
    return None
