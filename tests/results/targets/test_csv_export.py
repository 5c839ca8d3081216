from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from assistant.results.targets.csv_export import CsvExportTarget
from tests.results.targets.helpers import COMPLETED_AT, completion_item, roleplay_item


def _read_rows(directory: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(directory.glob("results-*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


class TestCsvExport:
    async def test_writes_header_once_and_one_row_per_result(self, tmp_path: Path) -> None:
        target = CsvExportTarget(tmp_path, clock=lambda: COMPLETED_AT)

        await target.deliver([completion_item(1)])
        await target.deliver([roleplay_item(2)])

        text = (tmp_path / "results-2026-03-02.csv").read_text(encoding="utf-8")
        assert text.count("idempotency_key") == 1
        rows = _read_rows(tmp_path)
        assert [row["kind"] for row in rows] == ["course_completion", "roleplay_attempt"]
        assert rows[0]["grade"] == "85.0"
        assert rows[0]["expires_on"] == "2027-03-02"
        assert rows[1]["passed"] == "1"

    async def test_redelivery_adds_no_row(self, tmp_path: Path) -> None:
        first_day = CsvExportTarget(tmp_path, clock=lambda: COMPLETED_AT)
        await first_day.deliver([completion_item(1)])

        # A new process on a later day still sees the key in yesterday's file.
        next_day = CsvExportTarget(tmp_path, clock=lambda: datetime(2026, 3, 3, tzinfo=UTC))
        outcomes = await next_day.deliver(
            [completion_item(1), completion_item(3, employee_id="E0003")]
        )

        rows = _read_rows(tmp_path)
        assert all(outcome.delivered for outcome in outcomes)
        assert [row["employee_id"] for row in rows] == ["E0001", "E0003"]

    async def test_missing_grade_is_empty_not_zero(self, tmp_path: Path) -> None:
        target = CsvExportTarget(tmp_path, clock=lambda: COMPLETED_AT)

        await target.deliver([completion_item(1, grade=None)])

        assert _read_rows(tmp_path)[0]["grade"] == ""

    async def test_formula_text_is_neutralised(self, tmp_path: Path) -> None:
        target = CsvExportTarget(tmp_path, clock=lambda: COMPLETED_AT)

        await target.deliver([roleplay_item()])

        assert _read_rows(tmp_path)[0]["scenario_title"].startswith("'=HYPERLINK")
