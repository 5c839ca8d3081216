"""`assistant results ...` and `assistant report compliance` as a user runs them."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import get_settings
from assistant.db import session_scope
from assistant.people.models import Person
from assistant.results import outbox
from assistant.results.models import CourseCompletion, OutboxStatus
from tests.results.fakes import add_completions

runner = CliRunner()


@pytest.fixture
def environment(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the settings at the test database and a CSV export target."""
    monkeypatch.setenv("ASSISTANT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ASSISTANT_RESULTS_TARGETS", "csv")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={schema}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _dead_row(engine: Engine) -> int:
    add_completions(engine, 1, targets=["csv"])
    with session_scope(engine) as session:
        [row] = outbox.claim(session, owner="w", target="csv", limit=1, lease_seconds=30)
        outbox.mark_dead(session, row.id, owner="w", error="TargetRejected: HTTP 400")
    assert row.id is not None
    return row.id


class TestResultsCommands:
    def test_deliver_once_writes_csv(self, engine: Engine, environment: Path) -> None:
        add_completions(engine, 3, targets=["csv"])

        result = runner.invoke(app, ["results", "deliver", "--once"])

        assert result.exit_code == 0, result.output
        assert "delivered 3" in result.output
        [export] = list((environment / "exports").glob("results-*.csv"))
        assert len(export.read_text(encoding="utf-8").splitlines()) == 4

    def test_dead_letters_lists_error(self, engine: Engine, environment: Path) -> None:
        row_id = _dead_row(engine)

        result = runner.invoke(app, ["results", "dead-letters"])

        assert result.exit_code == 0, result.output
        assert f"{row_id}\tcsv\t" in result.output
        assert "TargetRejected: HTTP 400" in result.output

    def test_retry_all_then_deliver(self, engine: Engine, environment: Path) -> None:
        _dead_row(engine)

        retried = runner.invoke(app, ["results", "retry", "--all"])
        delivered = runner.invoke(app, ["results", "deliver", "--once"])

        assert "1 row(s) due for delivery again" in retried.output
        assert "delivered 1" in delivered.output
        with session_scope(engine) as session:
            assert outbox.count_by_status(session)[OutboxStatus.DELIVERED] == 1

    def test_retry_unknown_id_fails_clearly(self, environment: Path) -> None:
        result = runner.invoke(app, ["results", "retry", "777"])

        assert result.exit_code == 1
        assert "no outbox item with id 777" in result.output

    def test_retry_needs_id_or_all(self, environment: Path) -> None:
        result = runner.invoke(app, ["results", "retry"])

        assert result.exit_code == 2
        assert "give either an outbox row id or --all" in result.output


class TestReportCommand:
    def test_compliance_csv_file(
        self, engine: Engine, environment: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        catalogue = environment / "catalogue.yaml"
        catalogue.write_text(
            "courses:\n  COC-101:\n    validity_months: 12\nmandatory:\n  - name: everyone\n    courses: [COC-101]\n",
            encoding="utf-8",
        )
        monkeypatch.setenv("ASSISTANT_CATALOGUE_FILE", str(catalogue))
        get_settings.cache_clear()
        with session_scope(engine) as session:
            session.add_all(
                [
                    Person(employee_id="A1", department="Sales"),
                    Person(employee_id="B2", department="IT"),
                ]
            )
            session.add(
                CourseCompletion(
                    employee_id="A1",
                    course_id=2,
                    course_code="COC-101",
                    completed_at=datetime(2020, 1, 1, tzinfo=UTC),
                    validity_months=12,
                    expires_on=date(2021, 1, 1),
                )
            )
        out = environment / "compliance.csv"

        result = runner.invoke(app, ["report", "compliance", "--out", str(out)])

        assert result.exit_code == 0, result.output
        assert "wrote 2 rows" in result.output
        with open(out, newline="", encoding="utf-8") as handle:
            rows = {row["employee_id"]: row["status"] for row in csv.DictReader(handle)}
        assert rows == {"A1": "expired", "B2": "never_completed"}

    def test_compliance_without_catalogue_fails_clearly(self, environment: Path) -> None:
        result = runner.invoke(app, ["report", "compliance"])

        assert result.exit_code == 1
        assert "set ASSISTANT_CATALOGUE_FILE" in result.output


def test_deliver_stops_cleanly_on_sigterm(engine: Engine, environment: Path) -> None:
    add_completions(engine, 2, targets=["csv"])
    env = dict(os.environ)
    worker = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "results", "deliver"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (
            not list((environment / "exports").glob("results-*.csv"))
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        worker.send_signal(signal.SIGTERM)
        output, errors = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)

    assert worker.returncode == 0, errors[-2000:]
    assert "delivered 2" in output
