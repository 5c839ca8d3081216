"""CSV export target for HR systems without a write API (Keka, for example).

Each result becomes one row of `results-YYYY-MM-DD.csv` (the export day, UTC) under the
export folder. The header is written once per file. A result whose idempotency key is
already in any export file is not written again, so a redelivery after a crash adds
nothing. An exclusive `flock` on `.lock` in the folder serialises writers across
processes on one machine.
"""

from __future__ import annotations

import asyncio
import csv
import fcntl
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from assistant.results.schemas import CompletionPayload, RoleplayPayload
from assistant.results.targets.base import DeliveryItem, DeliveryOutcome, TargetUnavailable

log = structlog.get_logger()

COLUMNS = (
    "idempotency_key",
    "kind",
    "employee_id",
    "course_code",
    "course_name",
    "completed_on",
    "expires_on",
    "grade",
    "grade_max",
    "attempt_id",
    "scenario_id",
    "scenario_title",
    "score",
    "max_score",
    "passed",
    "finished_at",
    "exported_at",
)
FILE_PREFIX = "results-"

# Spreadsheet programs run a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe (OWASP CSV injection)."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _number_cell(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def result_row(
    key: str, payload: CompletionPayload | RoleplayPayload, exported_at: datetime
) -> dict[str, str]:
    """Render one result as a CSV row; a missing grade stays an empty cell, never 0."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        idempotency_key=key,
        kind=payload.kind,
        employee_id=_text_cell(payload.employee_id),
        exported_at=exported_at.isoformat(timespec="seconds"),
    )
    if isinstance(payload, CompletionPayload):
        row.update(
            course_code=_text_cell(payload.course_code),
            course_name=_text_cell(payload.course_name),
            completed_on=payload.completed_on.isoformat(),
            expires_on=payload.expires_on.isoformat() if payload.expires_on else "",
            grade=_number_cell(payload.grade),
            grade_max=_number_cell(payload.grade_max),
        )
        return row

    row.update(
        attempt_id=_text_cell(payload.attempt_id),
        scenario_id=_text_cell(payload.scenario_id),
        scenario_title=_text_cell(payload.scenario_title),
        score=_number_cell(payload.score),
        max_score=_number_cell(payload.max_score),
        passed="1" if payload.passed else "0",
        finished_at=payload.finished_at.isoformat(timespec="seconds"),
    )
    return row


class CsvExportTarget:
    name = "csv"
    max_batch = 500

    def __init__(self, directory: Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.directory = directory
        self._clock = clock or (lambda: datetime.now(UTC))
        # File name -> (size when read, keys in it); appends only grow files, so size tells change.
        self._known: dict[str, tuple[int, set[str]]] = {}

    async def deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        return await asyncio.to_thread(self._deliver, items)

    def _deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        now = self._clock()
        path = self.directory / f"{FILE_PREFIX}{now:%Y-%m-%d}.csv"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.directory / ".lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                written = self._append_new(path, items, now)
        except OSError as exc:
            raise TargetUnavailable(
                f"cannot write the CSV export {path}: {exc.strerror or exc}"
            ) from exc

        log.info(
            "results.csv.exported", file=path.name, written=written, skipped=len(items) - written
        )
        return [DeliveryOutcome.success(item, external_id=path.name) for item in items]

    def _append_new(self, path: Path, items: Sequence[DeliveryItem], now: datetime) -> int:
        known = self._exported_keys()
        rows = []
        for item in items:
            if item.key in known:
                continue
            known.add(item.key)
            rows.append(result_row(item.key, item.payload, now))
        if not rows:
            return 0

        new_file = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            if new_file:
                writer.writeheader()
            writer.writerows(rows)
            handle.flush()
            os.fsync(handle.fileno())
        return len(rows)

    def _exported_keys(self) -> set[str]:
        keys: set[str] = set()
        for path in sorted(self.directory.glob(f"{FILE_PREFIX}*.csv")):
            size = path.stat().st_size
            cached = self._known.get(path.name)
            if cached is None or cached[0] != size:
                cached = (size, _read_keys(path))
                self._known[path.name] = cached
            keys |= cached[1]
        return keys


def _read_keys(path: Path) -> set[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {
            row["idempotency_key"] for row in csv.DictReader(handle) if row.get("idempotency_key")
        }
