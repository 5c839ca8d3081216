"""The sandbox's /_sandbox/ admin interface and its Moodle behaviours outside the recordings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from assistant.moodle.sandbox import DEFAULT_TOKEN, SandboxState, create_sandbox_app

REST_PATH = "/webservice/rest/server.php"


@pytest.fixture
def sandbox_app() -> Starlette:
    return create_sandbox_app()


@pytest.fixture
async def sandbox_http(sandbox_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8088") as client:
        yield client


async def call(client: httpx.AsyncClient, function: str, fmt: str = "json", **params: Any) -> httpx.Response:
    form = {"wstoken": DEFAULT_TOKEN, "wsfunction": function, "moodlewsrestformat": fmt, **params}
    return await client.post(REST_PATH, data=form)


async def test_admin_disabled_rejects() -> None:
    app = create_sandbox_app(admin=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
        response = await client.post("/_sandbox/reset")

    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


async def test_fault_over_http_then_stats(sandbox_http: httpx.AsyncClient) -> None:
    await sandbox_http.post("/_sandbox/faults", json={"mode": "status", "status": 502, "count": 1})

    first = await call(sandbox_http, "core_webservice_get_site_info")
    second = await call(sandbox_http, "core_webservice_get_site_info")
    stats = (await sandbox_http.get("/_sandbox/stats")).json()

    assert first.status_code == 502
    assert second.status_code == 200
    assert stats["calls"] == {"core_webservice_get_site_info": 2}


async def test_429_fault_sets_retry_after(sandbox_http: httpx.AsyncClient) -> None:
    await sandbox_http.post("/_sandbox/faults", json={"mode": "429", "retry_after": 7})

    response = await call(sandbox_http, "core_webservice_get_site_info")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


async def test_invalid_admin_body_names_problem(sandbox_http: httpx.AsyncClient) -> None:
    response = await sandbox_http.post("/_sandbox/faults", json={"mode": "explode"})

    assert response.status_code == 422
    assert "mode" in response.json()["detail"]


async def test_grade_and_cron_endpoints(sandbox_app: Starlette, sandbox_http: httpx.AsyncClient) -> None:
    state: SandboxState = sandbox_app.state.sandbox
    await sandbox_http.post("/_sandbox/grade", json={"userid": 4, "cmid": 9, "grade": 77})
    cron = await sandbox_http.post("/_sandbox/cron", json={"time": state.now() + 1})

    overview = (await call(sandbox_http, "gradereport_overview_get_course_grades", userid="4")).json()

    assert cron.json() == {"reaggregated": 0}
    assert {"courseid": 6, "grade": "77.00", "rawgrade": "77.00000"} in overview["grades"]


async def test_bulk_courses_and_completion(sandbox_http: httpx.AsyncClient) -> None:
    body = {"courses": [{"shortname": "BULK-1", "fullname": "Bulk one", "categoryid": 3, "activities": [{"name": "Intro"}]}]}
    [course_id] = (await sandbox_http.post("/_sandbox/courses", json=body)).json()["ids"]
    contents = (await call(sandbox_http, "core_course_get_contents", courseid=str(course_id))).json()
    [cmid] = [module["id"] for section in contents for module in section["modules"]]
    await call(sandbox_http, "enrol_manual_enrol_users", **{"enrolments[0][roleid]": "5", "enrolments[0][userid]": "6", "enrolments[0][courseid]": str(course_id)})

    await sandbox_http.post("/_sandbox/activity-completion", json={"userid": 6, "cmid": cmid, "state": 1})
    status = (await call(sandbox_http, "core_completion_get_course_completion_status", courseid=str(course_id), userid="6")).json()

    assert status["completionstatus"]["completed"] is True


async def test_wsnoinstance_for_course_without_manual(sandbox_http: httpx.AsyncClient) -> None:
    body = {"courses": [{"shortname": "SELF-1", "fullname": "Self only", "manual_enrolment": False}]}
    [course_id] = (await sandbox_http.post("/_sandbox/courses", json=body)).json()["ids"]

    response = await call(
        sandbox_http,
        "enrol_manual_enrol_users",
        **{"enrolments[0][roleid]": "5", "enrolments[0][userid]": "42", "enrolments[0][courseid]": str(course_id)},
    )

    assert response.json()["errorcode"] == "wsnoinstance"


async def test_xml_success_response(sandbox_http: httpx.AsyncClient) -> None:
    response = await call(sandbox_http, "core_cohort_get_cohorts", fmt="xml")

    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert '<KEY name="idnumber"><VALUE>COH-SALES</VALUE></KEY>' in response.text


async def test_mixed_case_lookup_rejected(sandbox_http: httpx.AsyncClient) -> None:
    response = await call(sandbox_http, "core_user_get_users_by_field", field="username", **{"values[0]": "Lab.Learner1"})

    assert response.json()["errorcode"] == "invalidparameter"


async def test_reset_restores_fixture(sandbox_http: httpx.AsyncClient) -> None:
    await call(sandbox_http, "core_user_delete_users", **{"userids[0]": "4"})

    await sandbox_http.post("/_sandbox/reset")
    found = (await call(sandbox_http, "core_user_get_users_by_field", field="id", **{"values[0]": "4"})).json()

    assert [user["username"] for user in found] == ["lab.learner1"]
