"""The paths API over real HTTP, with the path router mounted alone.

Access rules for these routes belong to the auth layer and are tested there. This app
mounts only the paths router, so every call reaches the handlers.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.config import Settings
from assistant.errors import install_error_handlers
from assistant.paths.engine import PathEngine, install_path_engine
from assistant.paths.router import router
from assistant.paths.sync import store_catalogue
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_person
from tests.paths.conftest import COURSES, make_path_engine, seed_people
from tests.support import LiveServer


def _app(settings: Settings, engine: Engine) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient() as client:
            app.state.http_client = client
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    app.include_router(router)
    return app


@pytest.fixture
def server(session: Session, engine: Engine, tmp_path: Path, encoder, config) -> Iterator[LiveServer]:
    seed_people(session)
    store_catalogue(session, COURSES)
    session.commit()
    # The scripted provider writes no narratives, so the team view gets the fixed template.
    settings, paths = make_path_engine(tmp_path, engine, encoder, config, llm_provider="scripted")
    install_path_engine(engine, paths)
    with LiveServer(_app(settings, engine)) as live:
        yield live


def _request_paths(server: LiveServer, employee_ids: list[str]) -> httpx.Response:
    return httpx.post(f"{server.url}/paths/requests", json={"employee_ids": employee_ids}, timeout=60)


class TestRequests:
    def test_small_request_answers_inline(self, server: LiveServer) -> None:
        response = _request_paths(server, ["E0001", "E0003"])

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "succeeded"
        assert body["done"] == 2
        assert body["outcomes"]["E0001"]["status"] == "built"
        assert body["outcomes"]["E0001"]["version"] == 1

    def test_unknown_person_is_a_failed_outcome(self, server: LiveServer) -> None:
        body = _request_paths(server, ["E0001", "E9999"]).json()

        assert body["status"] == "partial"
        assert body["outcomes"]["E9999"] == {
            "status": "failed", "path_id": None, "version": None, "items": None, "enrolment": {},
            "error": "no person with employee ID 'E9999'",
        }
        assert body["outcomes"]["E0001"]["status"] == "built"

    def test_blank_id_is_rejected(self, server: LiveServer) -> None:
        response = _request_paths(server, ["E0001", " "])

        assert response.status_code == 422
        assert "blank values (positions [2])" in response.text

    def test_large_request_runs_in_background(self, server: LiveServer, session: Session) -> None:
        for number in range(30):
            upsert_person(session, PersonRecord(employee_id=f"N{number:03d}", job_title="Area Sales Manager", department="Sales"), source="test")
        session.commit()
        ids = [f"N{number:03d}" for number in range(30)] + ["E9999"]

        response = _request_paths(server, ids)

        assert response.status_code == 202
        status_url = response.json()["status_url"]
        assert response.headers["location"] == status_url
        body = _wait_for(server, status_url)
        assert body["status"] == "partial"
        assert body["done"] == 31
        assert sum(1 for outcome in body["outcomes"].values() if outcome["status"] == "built") == 30
        assert body["outcomes"]["E9999"]["status"] == "failed"

    def test_unknown_request_is_404(self, server: LiveServer) -> None:
        response = httpx.get(f"{server.url}/paths/requests/nope")

        assert response.status_code == 404
        assert response.json() == {"error": "PathRequestNotFound", "detail": "no path request with id 'nope'"}


def _wait_for(server: LiveServer, status_url: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = httpx.get(f"{server.url}{status_url}").json()
        if body["status"] in ("succeeded", "partial", "failed"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"request {status_url} did not finish: {body}")


class TestPaths:
    def test_person_path_lists_items_in_order(self, server: LiveServer) -> None:
        _request_paths(server, ["E0001"])

        body = httpx.get(f"{server.url}/people/E0001/path").json()

        assert body["version"] == 1
        assert [item["shortname"] for item in body["items"]][:3] == ["COC-101", "ITSEC-101", "CRM-201"]
        assert [item["position"] for item in body["items"]] == list(range(1, len(body["items"]) + 1))
        assert all(item["explanation"] for item in body["items"])
        assigned = date.fromisoformat(body["as_of"])
        assert body["items"][0]["due_date"] == (max(assigned, date(2026, 12, 1)) + timedelta(days=30)).isoformat()
        assert body["items"][0]["status"] == "planned"

    def test_person_without_path_is_404(self, server: LiveServer) -> None:
        response = httpx.get(f"{server.url}/people/E0002/path")

        assert response.status_code == 404
        assert "request one with POST /paths/requests" in response.json()["detail"]

    def test_unknown_person_is_404(self, server: LiveServer) -> None:
        response = httpx.get(f"{server.url}/people/E9999/path/versions")

        assert response.status_code == 404
        assert response.json()["error"] == "PersonNotFound"

    def test_versions_after_role_change(self, server: LiveServer, session: Session) -> None:
        _request_paths(server, ["E0002"])
        upsert_person(session, PersonRecord(employee_id="E0002", job_title="Database Administrator", department="IT/IS", manager_employee_id="M1"), source="test")
        session.commit()
        _request_paths(server, ["E0002"])

        versions = httpx.get(f"{server.url}/people/E0002/path/versions").json()

        assert [(v["version"], v["is_current"], v["reason"]) for v in versions] == [
            (1, False, "new_hire"), (2, True, "role_change")
        ]
        old = httpx.get(f"{server.url}/paths/{versions[0]['id']}").json()
        assert old["job_title"] == "Area Sales Manager"
        assert "CRM-201" in [item["shortname"] for item in old["items"]]

    def test_team_paths_include_indirect_reports(self, server: LiveServer) -> None:
        _request_paths(server, ["E0001", "E0003"])

        team = httpx.get(f"{server.url}/managers/M1/team/paths", params={"narrative": "true"}).json()

        assert [member["employee_id"] for member in team] == ["E0001", "E0002", "E0003"]
        assert team[1]["path"] is None
        assert team[2]["manager_employee_id"] == "E0001"
        assert team[0]["path"]["narrative"].startswith("Path version 1 for Area Sales Manager")

    def test_recompute_unchanged_keeps_version(self, server: LiveServer) -> None:
        body = _request_paths(server, ["E0001"]).json()
        path_id = body["outcomes"]["E0001"]["path_id"]

        response = httpx.post(f"{server.url}/paths/{path_id}/recompute", timeout=60)

        assert response.status_code == 200
        assert response.json()["changed"] is False
        assert response.json()["path"]["id"] == path_id

    def test_recompute_old_version_is_conflict(self, server: LiveServer, session: Session) -> None:
        first = _request_paths(server, ["E0002"]).json()["outcomes"]["E0002"]["path_id"]
        upsert_person(session, PersonRecord(employee_id="E0002", job_title="Database Administrator", department="IT/IS"), source="test")
        session.commit()
        _request_paths(server, ["E0002"])

        response = httpx.post(f"{server.url}/paths/{first}/recompute", timeout=60)

        assert response.status_code == 409
        assert "not the current one" in response.json()["detail"]

    def test_openapi_documents_examples(self, server: LiveServer) -> None:
        schema = httpx.get(f"{server.url}/openapi.json").json()

        assert "/paths/requests" in schema["paths"]
        assert "/managers/{employee_id}/team/paths" in schema["paths"]
        assert schema["components"]["schemas"]["PathRequestCreate"]["examples"][0]["employee_ids"] == ["E0001", "E0002"]
        assert "202" in schema["paths"]["/paths/requests"]["post"]["responses"]


def test_engine_reused_per_database(engine: Engine, tmp_path: Path, encoder, config) -> None:
    settings, paths = make_path_engine(tmp_path, engine, encoder, config)
    install_path_engine(engine, paths)

    from assistant.paths.engine import path_engine_for

    assert path_engine_for(settings, engine) is paths
    assert isinstance(paths, PathEngine)
