"""`assistant sync` through typer's CliRunner, against the Moodle sandbox and both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import get_settings
from tests.provisioning.conftest import TOKEN, Sandbox

HEADER = "employee_id,first_name,last_name,email,department,status,job_title,division,location,manager_id,hire_date,termination_date\n"
# Values of the columns after status, which these tests leave empty.
EMPTY_TAIL = ",,,,,,"


def _database_url(engine: Engine) -> str:
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name != "postgresql":
        return url
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return f"{url}?options=-csearch_path%3D{schema}"


@pytest.fixture
def settings_env(engine: Engine, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", _database_url(engine))
    monkeypatch.setenv("ASSISTANT_MOODLE_URL", sandbox.url)
    monkeypatch.setenv("ASSISTANT_MOODLE_TOKEN", TOKEN)
    monkeypatch.setenv("ASSISTANT_MOODLE_BATCH_SIZE", "10")
    monkeypatch.delenv("ASSISTANT_MAPPING_FILE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _roster(folder: Path, rows: list[str]) -> Path:
    path = folder / "people.csv"
    path.write_text(HEADER + "".join(f"{row}{EMPTY_TAIL}\n" for row in rows), encoding="utf-8")
    return path


def _staff(count: int, *, leavers: int = 0) -> list[str]:
    rows = []
    for index in range(1, count + 1):
        status = "leaver" if index <= leavers else "active"
        rows.append(f"{index:05d},Ana,Test{index},p{index}@example.invalid,Sales,{status}")
    return rows


def _invoke(*arguments: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["sync", *arguments])


@pytest.mark.usefixtures("settings_env")
class TestSyncCommand:
    def test_dry_run_prints_diff(self, sandbox: Sandbox, tmp_path: Path) -> None:
        roster = _roster(tmp_path, ["00042,Ana,Test,ana@example.invalid,Sales,active"])

        result = _invoke("--source", "csv", "--file", str(roster), "--dry-run")

        assert result.exit_code == 0, result.output
        assert "+ create 00042 Ana Test (Sales)" in result.stdout
        assert "summary: 1 create, 0 update" in result.stdout
        assert sandbox.writes() == 0

    def test_apply_then_update_diff(self, sandbox: Sandbox, tmp_path: Path) -> None:
        _invoke("--source", "csv", "--file", str(_roster(tmp_path, ["00043,Ben,Test,ben@example.invalid,Sales,active"])))

        roster = _roster(tmp_path, ["00043,Ben,Test,ben@example.invalid,Marketing,active"])
        result = _invoke("--source", "csv", "--file", str(roster), "--dry-run")

        assert result.exit_code == 0, result.output
        assert "~ update 00043 department: Sales -> Marketing" in result.stdout

    def test_json_report(self, tmp_path: Path) -> None:
        roster = _roster(tmp_path, _staff(3))

        result = _invoke("--source", "csv", "--file", str(roster), "--json")

        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["status"] == "succeeded"
        assert report["counts"]["create"] == 3
        assert [item["employee_id"] for item in report["items"]] == ["00001", "00002", "00003"]

    def test_guard_rejection_and_force(self, sandbox: Sandbox, tmp_path: Path) -> None:
        assert _invoke("--source", "csv", "--file", str(_roster(tmp_path, _staff(10)))).exit_code == 0
        writes = sandbox.writes()
        roster = _roster(tmp_path, _staff(10, leavers=2))

        rejected = _invoke("--source", "csv", "--file", str(roster))
        forced = _invoke("--source", "csv", "--file", str(roster), "--force")

        assert rejected.exit_code == 2
        assert "guard rejects this run: the run would suspend 2 of 10" in rejected.stdout
        assert forced.exit_code == 0, forced.output
        assert "- suspend 00001 (leaver)" in forced.stdout
        assert "guard overridden by --force" in forced.stdout
        assert sandbox.writes() == writes + 1

    def test_missing_file_option(self) -> None:
        result = _invoke("--source", "csv")

        assert result.exit_code == 1
        assert "--source csv needs --file" in result.stderr

    def test_unreadable_file(self, tmp_path: Path) -> None:
        result = _invoke("--source", "csv", "--file", str(tmp_path / "absent.csv"))

        assert result.exit_code == 1
        assert "absent.csv" in result.stderr


def test_bamboohr_source(settings_env: None, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, create_bamboohr_sandbox
    from tests.support import LiveServer

    with LiveServer(create_bamboohr_sandbox()) as bamboohr:
        monkeypatch.setenv("ASSISTANT_BAMBOOHR_URL", bamboohr.url)
        monkeypatch.setenv("ASSISTANT_BAMBOOHR_API_KEY", DEFAULT_API_KEY)
        get_settings.cache_clear()

        result = _invoke("--source", "bamboohr", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == "bamboohr"
    assert report["counts"]["create"] == 7
    assert report["counts"]["skip"] == 1
    assert len(sandbox.users_with_idnumber("101")) == 1


def test_bamboohr_rejects_file(settings_env: None, tmp_path: Path) -> None:
    result = _invoke("--source", "bamboohr", "--file", str(tmp_path / "x.csv"))

    assert result.exit_code == 1
    assert "--file is only for --source csv" in result.stderr
