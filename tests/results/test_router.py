"""The results API on an app that has only this router (access rules are tested with the auth layer)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.config import Settings
from assistant.db import session_scope
from assistant.errors import install_error_handlers
from assistant.people.models import Person
from assistant.results import outbox
from assistant.results.models import CourseCompletion
from assistant.results.router import router
from assistant.results.rules import StaticCourseRules
from tests.results.fakes import add_completions


def _app(
    engine: Engine,
    tmp_path: Path,
    *,
    rules: StaticCourseRules | None,
    catalogue: Path | None = None,
) -> FastAPI:
    app = FastAPI()
    app.state.engine = engine
    app.state.settings = Settings(_env_file=None, data_dir=tmp_path, catalogue_file=catalogue)  # type: ignore[call-arg]
    if rules is not None:
        app.state.course_rules = rules
    install_error_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    rules = StaticCourseRules(validity={"COC-101": 12}, mandatory_for_all=["COC-101"])
    with TestClient(_app(engine, tmp_path, rules=rules), raise_server_exceptions=False) as client:
        yield client


def _kill_one(engine: Engine) -> int:
    add_completions(engine, 2, targets=["bamboohr"])
    with session_scope(engine) as session:
        [row] = outbox.claim(session, owner="w", target="bamboohr", limit=1, lease_seconds=30)
        outbox.mark_dead(session, row.id, owner="w", error="TargetRejected: HTTP 400")
    assert row.id is not None
    return row.id


class TestOutboxRoutes:
    def test_dead_letters_list_last_error(self, client: TestClient, engine: Engine) -> None:
        dead_id = _kill_one(engine)

        response = client.get("/results/outbox", params={"status": "dead"})

        assert response.status_code == 200
        [item] = response.json()
        assert item["id"] == dead_id
        assert item["last_error"] == "TargetRejected: HTTP 400"

    def test_invalid_status_is_422(self, client: TestClient) -> None:
        response = client.get("/results/outbox", params={"status": "lost"})

        assert response.status_code == 422

    def test_retry_makes_row_pending(self, client: TestClient, engine: Engine) -> None:
        dead_id = _kill_one(engine)

        response = client.post(f"/results/outbox/{dead_id}/retry")
        counts = client.get("/results/outbox/counts").json()

        assert response.status_code == 200
        assert response.json()["status"] == "pending"
        assert counts == {"pending": 2, "in_flight": 0, "delivered": 0, "dead": 0}

    def test_retry_unknown_row_is_404(self, client: TestClient) -> None:
        response = client.post("/results/outbox/4040/retry")

        assert response.status_code == 404
        assert response.json() == {
            "error": "OutboxItemNotFound",
            "detail": "no outbox item with id 4040",
        }

    def test_retry_delivered_row_is_409(self, client: TestClient, engine: Engine) -> None:
        add_completions(engine, 1, targets=["csv"])
        with session_scope(engine) as session:
            [row] = outbox.claim(session, owner="w", target="csv", limit=1, lease_seconds=30)
            outbox.mark_delivered(session, row.id, owner="w")

        response = client.post(f"/results/outbox/{row.id}/retry")

        assert response.status_code == 409
        assert response.json()["error"] == "OutboxRetryConflict"


class TestComplianceRoutes:
    def _seed(self, engine: Engine) -> None:
        with session_scope(engine) as session:
            session.add(Person(employee_id="A1", display_name="A One", department="Sales"))
            session.add(Person(employee_id="B2", display_name="B Two", department="IT"))
            session.add(
                CourseCompletion(
                    employee_id="A1",
                    course_id=2,
                    course_code="COC-101",
                    completed_at=datetime(2026, 11, 1, tzinfo=UTC),
                    validity_months=12,
                    expires_on=date(2027, 11, 1),
                )
            )

    def test_json_report_filters_by_department(self, client: TestClient, engine: Engine) -> None:
        self._seed(engine)

        response = client.get("/results/compliance", params={"department": "Sales"})

        assert response.status_code == 200
        body = response.json()
        assert [(row["employee_id"], row["status"]) for row in body["rows"]] == [("A1", "current")]
        assert body["by_department"] == [
            {
                "group": "Sales",
                "course_code": "COC-101",
                "current": 1,
                "due_soon": 0,
                "expired": 0,
                "never_completed": 0,
            }
        ]

    def test_csv_report(self, client: TestClient, engine: Engine) -> None:
        self._seed(engine)

        response = client.get("/results/compliance.csv")

        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {(row["employee_id"], row["status"]) for row in rows} == {
            ("A1", "current"),
            ("B2", "never_completed"),
        }

    def test_unknown_manager_is_404(self, client: TestClient) -> None:
        response = client.get("/results/compliance", params={"manager": "nobody"})

        assert response.status_code == 404
        assert response.json()["error"] == "PersonNotFound"

    def test_missing_catalogue_is_503(self, engine: Engine, tmp_path: Path) -> None:
        with TestClient(
            _app(engine, tmp_path, rules=None), raise_server_exceptions=False
        ) as client:
            response = client.get("/results/compliance")

        assert response.status_code == 503
        assert "set ASSISTANT_CATALOGUE_FILE" in response.json()["detail"]

    def test_rules_from_catalogue_file(self, engine: Engine, tmp_path: Path) -> None:
        self._seed(engine)
        catalogue = tmp_path / "catalogue.yaml"
        catalogue.write_text(
            "courses:\n  COC-101:\n    validity_months: 12\n"
            "mandatory:\n  - name: sales onboarding\n    courses: [COC-101, NEG-201]\n    department: 'Sal*'\n",
            encoding="utf-8",
        )

        with TestClient(
            _app(engine, tmp_path, rules=None, catalogue=catalogue), raise_server_exceptions=False
        ) as client:
            response = client.get("/results/compliance")

        assert response.status_code == 200
        statuses = {
            (row["employee_id"], row["course_code"]): row["status"]
            for row in response.json()["rows"]
        }
        assert statuses == {("A1", "COC-101"): "current", ("A1", "NEG-201"): "never_completed"}


class TestCertificationRoutes:
    def test_lists_expiry(self, client: TestClient, engine: Engine) -> None:
        add_completions(engine, 1, targets=["csv"])

        response = client.get("/results/certifications/E00000")

        [certification] = response.json()
        assert certification["course_code"] == "COC-101"
        assert certification["completed_on"] == "2026-01-05"
