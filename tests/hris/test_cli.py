from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import get_settings
from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, create_bamboohr_sandbox
from tests.support import LiveServer

runner = CliRunner()

# The column names of the built-in mapping's CSV source.
PEOPLE_CSV = (
    "employee_id;first_name;last_name;email;job_title;department;division;location;manager_id;hire_date;termination_date;status\n"
    "00042;Ana;Test;ana@example.invalid;Manager;Sales;;Boston;;2020-01-06;;active\n"
    "00043;Ben;Test;BEN@example.invalid ;Clerk;Sales;;Boston;00042;2021-03-01;;active\n"
    "00043;Ben;Again;ben2@example.invalid;Clerk;Sales;;Boston;;2021-03-01;;active\n"
)


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("ASSISTANT_MAPPING_FILE", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _import(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["people", "import", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


class TestImportCsv:
    def test_import_reports_counts(self, database: Path) -> None:
        path = database / "people.csv"
        path.write_text(PEOPLE_CSV, encoding="utf-8")

        report = _import("--source", "csv", "--file", str(path))

        assert report["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "marked_leavers": 0, "rejected": 1, "warnings": 0}
        rejected = report["rejected"]
        assert isinstance(rejected, list)
        assert rejected[0]["row"] == 4
        assert "duplicate of row 3" in rejected[0]["reason"]

    def test_second_import_unchanged(self, database: Path) -> None:
        path = database / "people.csv"
        path.write_text(PEOPLE_CSV, encoding="utf-8")
        _import("--source", "csv", "--file", str(path))

        report = _import("--source", "csv", "--file", str(path))

        assert report["unchanged"] == ["00042", "00043"]

    def test_text_report(self, database: Path) -> None:
        path = database / "people.csv"
        path.write_text(PEOPLE_CSV, encoding="utf-8")

        result = runner.invoke(app, ["people", "import", "--source", "csv", "--file", str(path)])

        assert result.exit_code == 0
        assert "created 2, updated 0, unchanged 0" in result.stdout
        assert "rejected row 4 (employee ID 00043): duplicate of row 3" in result.stdout

    def test_show_person(self, database: Path) -> None:
        path = database / "people.csv"
        path.write_text(PEOPLE_CSV, encoding="utf-8")
        _import("--source", "csv", "--file", str(path))

        result = runner.invoke(app, ["people", "show", "00043", "--json"])

        assert result.exit_code == 0
        shown = json.loads(result.stdout)
        assert shown["person"]["email"] == "ben@example.invalid"
        assert shown["person"]["manager_employee_id"] == "00042"
        assert {"field": "family_name", "after": "Test"}.items() <= next(
            change for change in shown["history"] if change["field"] == "family_name"
        ).items()

    def test_show_unknown_person(self, database: Path) -> None:
        result = runner.invoke(app, ["people", "show", "42"])

        assert result.exit_code == 1
        assert "no person with employee ID '42'" in result.stderr

    def test_missing_file_option(self, database: Path) -> None:
        result = runner.invoke(app, ["people", "import", "--source", "csv"])

        assert result.exit_code == 1
        assert "--file is required for the CSV source 'csv'" in result.stderr

    def test_unknown_source(self, database: Path) -> None:
        result = runner.invoke(app, ["people", "import", "--source", "workday"])

        assert result.exit_code == 1
        assert "the mapping has no source 'workday'" in result.stderr

    def test_invalid_mapping_named(self, database: Path) -> None:
        mapping = database / "mapping.yaml"
        mapping.write_text("sources:\n  csv:\n    fields: {email: mail}\n", encoding="utf-8")

        result = runner.invoke(app, ["people", "import", "--source", "csv", "--file", "x.csv", "--mapping", str(mapping)])

        assert result.exit_code == 1
        assert "mapping.yaml is invalid" in result.stderr
        assert "sources.csv.fields" in result.stderr


class TestImportBambooHR:
    def test_full_then_incremental(self, database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        with LiveServer(create_bamboohr_sandbox()) as server:
            monkeypatch.setenv("ASSISTANT_BAMBOOHR_URL", server.url)
            monkeypatch.setenv("ASSISTANT_BAMBOOHR_API_KEY", DEFAULT_API_KEY)
            get_settings.cache_clear()

            first = _import("--source", "bamboohr")
            httpx.post(f"{server.url}/_sandbox/employees", json={"employees": [{"id": "104", "jobTitle": "Shift Lead"}]})
            second = _import("--source", "bamboohr")
            stats = httpx.get(f"{server.url}/_sandbox/stats").json()

        assert len(first["created"]) == 8  # type: ignore[arg-type]
        assert first["cursor"] == "2026-01-12T09:00:00+00:00"
        assert second["updated"] == ["104"]
        assert stats["POST reports/custom"] == 1
        assert stats["GET employees/104"] == 1

    def test_url_missing(self, database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ASSISTANT_BAMBOOHR_URL", "")
        get_settings.cache_clear()

        result = runner.invoke(app, ["people", "import", "--source", "bamboohr"])

        assert result.exit_code == 1
        assert "ASSISTANT_BAMBOOHR_URL is not set" in result.stderr
