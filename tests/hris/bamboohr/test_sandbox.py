from __future__ import annotations

import httpx

from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, sample_roster
from tests.hris.bamboohr.conftest import SandboxControl

AUTH = (DEFAULT_API_KEY, "x")
JSON = {"Accept": "application/json"}


class TestSandboxControl:
    def test_roster_invented(self) -> None:
        roster = sample_roster()

        assert len(roster) == 8
        assert all(person["workEmail"].endswith("@example.invalid") for person in roster)

    def test_reset_restores_roster(self, sandbox: SandboxControl) -> None:
        sandbox.load({"id": "900", "firstName": "Temp", "lastName": "Worker", "status": "Active"})
        sandbox.delete("101")

        sandbox.reset()

        ids = {person["id"] for person in httpx.get(f"{sandbox.url}/_sandbox/employees").json()}
        assert ids == {str(number) for number in range(101, 109)}
        assert sandbox.stats() == {}

    def test_replace_roster(self, sandbox: SandboxControl) -> None:
        sandbox.load({"id": "1", "firstName": "Only", "lastName": "One", "status": "Active"}, replace=True)

        changed = httpx.get(
            f"{sandbox.url}/api/v1/employees/changed", params={"since": "2026-06-01T00:00:00Z"}, auth=AUTH, headers=JSON
        ).json()

        actions = {entry["id"]: entry["action"] for entry in changed["employees"].values()}
        assert actions["1"] == "Inserted"
        assert actions["101"] == "Deleted"

    def test_load_needs_id(self, sandbox: SandboxControl) -> None:
        response = httpx.post(f"{sandbox.url}/_sandbox/employees", json={"employees": [{"firstName": "Nobody"}]})

        assert response.status_code == 422
        assert response.json() == {"error": "every employee needs an 'id'"}

    def test_faults_set_and_cleared(self, sandbox: SandboxControl) -> None:
        sandbox.faults(status=503, retry_after=5)

        blocked = httpx.get(f"{sandbox.url}/api/v1/training/type", auth=AUTH, headers=JSON)
        httpx.delete(f"{sandbox.url}/_sandbox/faults")
        passed = httpx.get(f"{sandbox.url}/api/v1/training/type", auth=AUTH, headers=JSON)

        assert blocked.status_code == 503
        assert blocked.headers["Retry-After"] == "5"
        assert blocked.headers["X-BambooHR-Error-Message"] == "Sandbox fault: HTTP 503"
        assert passed.status_code == 200
        assert passed.json() == []

    def test_fault_limited_to_path(self, sandbox: SandboxControl) -> None:
        sandbox.faults(status=500, path_contains="training")

        employee = httpx.get(f"{sandbox.url}/api/v1/employees/101", auth=AUTH, headers=JSON)
        training = httpx.get(f"{sandbox.url}/api/v1/training/type", auth=AUTH, headers=JSON)

        assert employee.status_code == 200
        assert training.status_code == 500

    def test_report_needs_exact_json_type(self, sandbox: SandboxControl) -> None:
        response = httpx.post(
            f"{sandbox.url}/api/v1/reports/custom?format=JSON",
            content=b'{"fields": ["firstName"]}',
            headers={"Content-Type": "application/json; charset=UTF-8", **JSON},
            auth=AUTH,
        )

        assert response.status_code == 400
        assert response.headers["X-BambooHR-Error-Message"] == "Malformed XML"

    def test_empty_dates_as_zeros(self, sandbox: SandboxControl) -> None:
        employee = httpx.get(
            f"{sandbox.url}/api/v1/employees/101", params={"fields": "terminationDate,displayName"}, auth=AUTH, headers=JSON
        ).json()

        assert employee == {"id": "101", "terminationDate": "0000-00-00", "displayName": "Maren Okafor"}

    def test_cost_object_required(self, sandbox: SandboxControl) -> None:
        created = httpx.post(f"{sandbox.url}/api/v1/training/type", json={"name": "Ladders"}, auth=AUTH, headers=JSON).json()

        response = httpx.post(
            f"{sandbox.url}/api/v1/training/record/employee/103",
            json={"completed": "2026-11-02", "type": int(created["id"]), "cost": "10.00 USD"},
            auth=AUTH,
            headers=JSON,
        )

        assert response.status_code == 400
        assert "'cost' must be an object" in response.headers["X-BambooHR-Error-Message"]
