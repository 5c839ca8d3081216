"""The /sync API: the provisioning router in a bare app, over httpx's ASGI transport.

The app-wide authorization layer is tested by the auth package; these tests check what
the routes do with a request that got through it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from assistant.config import Settings
from assistant.errors import install_error_handlers
from assistant.provisioning.router import router
from tests.provisioning.conftest import TOKEN, Sandbox

CSV_HEADER = "employee_id,first_name,last_name,email,department,status,job_title,division,location,manager_id,hire_date,termination_date\n"


def _csv(*rows: str) -> str:
    return CSV_HEADER + "".join(f"{row},,,,,,\n" for row in rows)


def _staff(count: int, *, leavers: int = 0) -> str:
    rows = []
    for index in range(1, count + 1):
        status = "leaver" if index <= leavers else "active"
        rows.append(f"{index:05d},Ana,Test{index},p{index}@example.invalid,Sales,{status}")
    return _csv(*rows)


@pytest.fixture
async def api(engine: Engine, sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.settings = Settings(moodle_url=sandbox.url, moodle_token=TOKEN, moodle_batch_size=10, mapping_file=None)
    app.state.engine = engine
    install_error_handlers(app)
    app.include_router(router)
    async with httpx.AsyncClient() as moodle_http:
        app.state.http_client = moodle_http
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield client


async def test_preview_returns_diff_without_writes(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    response = await api.post("/sync/preview", json={"source": "csv", "csv": _csv("00042,Ana,Test,ana@example.invalid,Sales,active")})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "previewed"
    assert body["items"][0]["action"] == "create"
    assert body["items"][0]["display_name"] == "Ana Test"
    assert sandbox.writes() == 0


async def test_apply_then_read_run_and_audit(api: httpx.AsyncClient) -> None:
    created = await api.post("/sync/runs", json={"source": "csv", "csv": _staff(2)})
    run_id = created.json()["run_id"]

    run = await api.get(f"/sync/runs/{run_id}")
    audit = await api.get(f"/sync/runs/{run_id}/audit")

    assert created.status_code == 201
    assert run.status_code == 200
    assert run.json()["status"] == "succeeded"
    assert run.json()["counts"]["create"] == 2
    assert audit.status_code == 200
    rows = audit.json()
    assert {row["employee_id"] for row in rows} == {"00001", "00002"}
    assert ("create", "idnumber", None, "00001") in [(r["action"], r["field"], r["before"], r["after"]) for r in rows]


async def test_guard_rejection_is_409(api: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await api.post("/sync/runs", json={"source": "csv", "csv": _staff(10)})
    writes = sandbox.writes()

    rejected = await api.post("/sync/runs", json={"source": "csv", "csv": _staff(10, leavers=3)})
    forced = await api.post("/sync/runs", json={"source": "csv", "csv": _staff(10, leavers=3), "force": True})

    assert rejected.status_code == 409
    assert rejected.json()["error"] == "SyncRejected"
    assert "suspend 3 of 10" in rejected.json()["detail"]
    assert forced.status_code == 201
    assert forced.json()["counts"]["suspend"] == 3
    assert sandbox.writes() == writes + 1


async def test_unknown_run_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/sync/runs/nope")

    assert response.status_code == 404
    assert response.json()["error"] == "RunNotFound"


async def test_csv_source_needs_text(api: httpx.AsyncClient) -> None:
    response = await api.post("/sync/preview", json={"source": "csv"})

    assert response.status_code == 422
    assert "csv" in response.json()["detail"]


async def test_invalid_csv_reported(api: httpx.AsyncClient) -> None:
    response = await api.post("/sync/preview", json={"source": "csv", "csv": "name\nAna\n"})

    assert response.status_code == 422
    assert "employee_id" in response.json()["detail"]
