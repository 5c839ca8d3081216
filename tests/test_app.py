from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.config import Settings
from assistant.db import create_db_engine
from assistant.errors import NotFound


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), engine=engine)  # type: ignore[call-arg]

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("no person with employee ID '00042'")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["failing"] == []
    assert body["checks"]["database"]["status"] == "ok"


def test_readyz_names_failing_database(tmp_path: Path) -> None:
    broken = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout=1)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path), engine=broken)  # type: ignore[call-arg]
    app.router.lifespan_context = _no_migration_lifespan(app)

    with TestClient(app) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def _no_migration_lifespan(app: object):  # type: ignore[no-untyped-def]
    from contextlib import asynccontextmanager

    from assistant.app import _readiness_checks

    @asynccontextmanager
    async def lifespan(app):  # type: ignore[no-untyped-def]
        app.state.readiness_checks = _readiness_checks(app.state.settings, app.state.engine, app)
        yield

    return lifespan


def test_unexpected_error_has_no_traceback(client: TestClient) -> None:
    response = client.get("/boom")

    assert response.status_code == 500
    assert response.json()["error"] == "InternalError"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


def test_domain_error_renders_class_and_detail(client: TestClient) -> None:
    response = client.get("/missing")

    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "no person with employee ID '00042'"}
