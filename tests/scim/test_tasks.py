"""The background Moodle sync after a SCIM write: a Moodle failure never fails the SCIM request."""

from __future__ import annotations

import httpx
import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from assistant.app import create_app
from assistant.scim import tasks
from tests.scim.conftest import SCIM_TOKEN, scim_settings, user_body
from tests.support import free_port


@pytest.fixture(autouse=True)
def uncached_task_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the tasks module a new logger so that `capture_logs` receives its events.

    `configure_logging` caches each logger with the processor list of its first use, and
    every app start-up installs a new list, so a logger cached by an earlier test would
    write past `capture_logs`.
    """
    monkeypatch.setattr(tasks, "log", structlog.get_logger())


async def test_unreachable_moodle_is_logged_not_raised(engine: Engine) -> None:
    # Nothing listens on this loopback port, so every Moodle call fails to connect.
    settings = scim_settings(
        moodle_url=f"http://127.0.0.1:{free_port()}",
        moodle_token=SecretStr("token"),
        moodle_max_retries=0,
    )
    app = create_app(settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {SCIM_TOKEN}"}

    async with httpx.AsyncClient(timeout=5) as moodle_http:
        app.state.http_client = moodle_http
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver/scim/v2", headers=headers) as scim:
            with capture_logs() as logs:
                response = await scim.post("/Users", json=user_body())

    assert response.status_code == 201
    failures = [entry for entry in logs if entry["event"] == "scim.moodle_sync.failed"]
    assert [entry["employee_id"] for entry in failures] == ["00042"]
    assert failures[0]["error"] == "MoodleUnavailable"


async def test_no_moodle_url_skips_sync(scim: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        response = await scim.post("/Users", json=user_body())

    assert response.status_code == 201
    skipped = [entry for entry in logs if entry["event"] == "scim.moodle_sync.skipped"]
    assert len(skipped) == 1
    assert skipped[0]["people"] == 1


async def test_unchanged_write_schedules_no_sync(scim: httpx.AsyncClient) -> None:
    with capture_logs() as logs:
        created = (await scim.post("/Users", json=user_body())).json()
        response = await scim.put(f"/Users/{created['id']}", json=user_body())

    assert response.status_code == 200
    sync_events = [entry["event"] for entry in logs if entry["event"].startswith("scim.moodle_sync")]
    # Only the create scheduled a sync, which was skipped because no Moodle URL is set.
    assert sync_events == ["scim.moodle_sync.skipped"]
