from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import httpx
import pytest

from assistant.hris.bamboohr.client import BambooHRClient, api_base_url
from assistant.hris.bamboohr.exceptions import BambooHRError, BambooHRRejected, BambooHRUnavailable
from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY
from assistant.hris.bamboohr.schemas import Cost, TrainingRecordWrite, TrainingTypeWrite
from tests.hris.bamboohr.conftest import SandboxControl


class TestEmployees:
    async def test_custom_report_all_employees(self, client: BambooHRClient) -> None:
        report = await client.custom_report(["firstName", "status", "terminationDate"])

        assert len(report.employees) == 8
        assert report.field_ids == {"firstName", "status", "terminationDate"}
        inactive = next(employee for employee in report.employees if employee.id == "107")
        assert inactive.values["status"] == "Inactive"
        assert inactive.values["terminationDate"] == "2025-10-31"

    async def test_unknown_field_left_out(self, client: BambooHRClient) -> None:
        report = await client.custom_report(["firstName", "shoeSize"])

        assert report.field_ids == {"firstName"}
        assert "shoeSize" not in report.employees[0].values

    async def test_changed_since_cursor(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        everything = await client.changed_employees("1970-01-01T00:00:00Z")
        sandbox.load({"id": "103", "jobTitle": "Line Lead"})

        changed = await client.changed_employees(everything.latest or "")

        assert len(everything.employees) == 8
        assert everything.latest == "2026-01-12T09:00:00+00:00"
        assert "103" in changed.changed_ids
        assert changed.latest is not None
        assert changed.latest > everything.latest

    async def test_changed_reports_deleted(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.delete("106")

        changed = await client.changed_employees("2026-02-01T00:00:00+00:00")

        assert changed.deleted_ids == ["106"]
        assert changed.changed_ids == []

    async def test_changed_without_offset_rejected(self, client: BambooHRClient) -> None:
        with pytest.raises(BambooHRRejected, match="HTTP 400: 'since' value '2026-01-01T00:00:00' has no time zone"):
            await client.changed_employees("2026-01-01T00:00:00")

    async def test_get_employee_unknown(self, client: BambooHRClient) -> None:
        with pytest.raises(BambooHRRejected, match="HTTP 404: Employee 999 not found") as caught:
            await client.get_employee("999", ["firstName"])

        assert caught.value.http_status == 404


class TestRetries:
    async def test_429_retried_after_retry_after(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.faults(status=429, count=2, retry_after=0)

        changed = await client.changed_employees("1970-01-01T00:00:00Z")

        assert len(changed.employees) == 8
        assert sandbox.stats()["GET employees/changed"] == 3
        assert sandbox.stats()["faults_injected"] == 2

    async def test_retry_after_waited(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.faults(status=503, count=1, retry_after=1)
        started = time.monotonic()

        await client.changed_employees("1970-01-01T00:00:00Z")

        assert time.monotonic() - started >= 1.0

    async def test_503_retried_for_post(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        training_type = await client.add_training_type(TrainingTypeWrite(name="Forklift"))
        sandbox.faults(status=503, count=1, retry_after=0, path_contains="training/record")

        await client.add_training_record("103", TrainingRecordWrite(completed=date(2026, 11, 2), type_id=training_type.id))

        assert len(await client.list_training_records("103")) == 1
        assert sandbox.stats()["POST training/record/employee/103"] == 2

    async def test_500_not_retried_for_post(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        training_type = await client.add_training_type(TrainingTypeWrite(name="Forklift"))
        sandbox.faults(status=500, count=1, path_contains="training/record")

        with pytest.raises(BambooHRUnavailable, match="HTTP 500"):
            await client.add_training_record("103", TrainingRecordWrite(completed=date(2026, 11, 2), type_id=training_type.id))

        assert sandbox.stats()["POST training/record/employee/103"] == 1

    async def test_500_retried_for_get(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.faults(status=502, count=1)

        types = await client.list_training_types()

        assert types == []
        assert sandbox.stats()["GET training/type"] == 2

    async def test_retries_bounded(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.faults(status=503, retry_after=0)

        with pytest.raises(BambooHRUnavailable, match="HTTP 503: Sandbox fault"):
            await client.changed_employees("1970-01-01T00:00:00Z")

        assert sandbox.stats()["GET employees/changed"] == 3

    async def test_long_retry_after_not_waited(self, sandbox: SandboxControl) -> None:
        sandbox.faults(status=429, retry_after=3600)

        async with BambooHRClient(sandbox.url, DEFAULT_API_KEY, max_retries=3) as client:
            with pytest.raises(BambooHRUnavailable) as caught:
                await client.changed_employees("1970-01-01T00:00:00Z")

        assert caught.value.retry_after == 3600
        assert sandbox.stats()["GET employees/changed"] == 1

    async def test_timeout_unavailable(self, sandbox: SandboxControl) -> None:
        sandbox.faults(delay=0.5)

        async with BambooHRClient(sandbox.url, DEFAULT_API_KEY, timeout=0.1, max_retries=1, backoff_base=0.01) as client:
            with pytest.raises(BambooHRUnavailable, match="did not answer GET employees/changed within 0.1 s"):
                await client.changed_employees("1970-01-01T00:00:00Z")

    async def test_seeded_failure_rate_recovers(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.faults(failure_rate=0.3, seed=7, retry_after=0)

        for _ in range(5):
            await client.list_training_types()

        stats = sandbox.stats()
        assert stats["faults_injected"] > 0
        assert stats["GET training/type"] == 5 + stats["faults_injected"]


class TestAuth:
    async def test_wrong_key_not_retried(self, sandbox: SandboxControl) -> None:
        async with BambooHRClient(sandbox.url, "wrong-key", max_retries=3) as client:
            with pytest.raises(BambooHRRejected, match="rejected the API key .*HTTP 401: Invalid API key") as caught:
                await client.changed_employees("1970-01-01T00:00:00Z")

        assert caught.value.http_status == 401
        assert sandbox.stats()["auth_failures"] == 1
        assert sandbox.stats()["requests"] == 1

    def test_empty_key_rejected(self) -> None:
        with pytest.raises(BambooHRRejected, match="API key is empty"):
            BambooHRClient("http://127.0.0.1:9", "")

    def test_sandbox_sends_xml_without_accept(self, sandbox: SandboxControl) -> None:
        response = httpx.get(f"{sandbox.url}/api/v1/training/type", auth=(DEFAULT_API_KEY, "x"))

        assert response.headers["content-type"].startswith("text/xml")

    async def test_repr_hides_key(self, client: BambooHRClient) -> None:
        assert DEFAULT_API_KEY not in repr(client)


class TestTraining:
    async def test_empty_lists_are_lists(self, client: BambooHRClient) -> None:
        assert await client.list_training_types() == []
        assert await client.list_training_records("103") == []

    async def test_type_round_trip(self, client: BambooHRClient) -> None:
        created = await client.add_training_type(
            TrainingTypeWrite(name="Fire safety", renewable=True, frequency=12, category="Safety", required=True, due_from_hire_date=30)
        )

        listed = await client.list_training_types()
        updated = await client.update_training_type(created.id, TrainingTypeWrite(name="Fire safety 2027", category=created.category.id if created.category else None))
        await client.delete_training_type(created.id)

        assert listed == [created]
        assert created.frequency == 12
        assert created.due_from_hire_date == 30
        assert created.category is not None
        assert created.category.name == "Safety"
        assert updated.name == "Fire safety 2027"
        assert updated.renewable is False
        assert updated.frequency is None
        assert updated.category == created.category
        assert await client.list_training_types() == []

    async def test_record_round_trip(self, client: BambooHRClient) -> None:
        training_type = await client.add_training_type(TrainingTypeWrite(name="Customer care"))
        written = TrainingRecordWrite(
            completed=date(2026, 11, 20),
            type_id=training_type.id,
            cost=Cost(amount=Decimal("10"), currency="usd"),
            instructor="Moodle course 12",
            hours=Decimal("1.5"),
            notes="Passed with 92 %",
        )

        added = await client.add_training_record("103", written)
        listed = await client.list_training_records("103", type_id=training_type.id)
        updated = await client.update_training_record(added.id, TrainingRecordWrite(completed=date(2026, 11, 21), credits=Decimal("2")))
        await client.delete_training_record(added.id)

        assert listed == [added]
        assert added.employee_id == 103
        assert added.type == training_type.id
        assert added.cost == Cost(amount=Decimal("10.00"), currency="USD")
        assert added.hours == Decimal("1.5")
        assert added.credits is None
        assert updated.completed == date(2026, 11, 21)
        assert updated.credits == Decimal("2")
        assert updated.type == training_type.id
        assert await client.list_training_records("103") == []

    async def test_unknown_type_rejected(self, client: BambooHRClient) -> None:
        with pytest.raises(BambooHRRejected, match="HTTP 400: Training type 424242 does not exist"):
            await client.add_training_record("103", TrainingRecordWrite(completed=date(2026, 11, 2), type_id=424242))

    async def test_record_needs_type(self, client: BambooHRClient) -> None:
        with pytest.raises(BambooHRRejected, match="needs type_id"):
            await client.add_training_record("103", TrainingRecordWrite(completed=date(2026, 11, 2)))

    async def test_type_in_use_not_deleted(self, client: BambooHRClient) -> None:
        training_type = await client.add_training_type(TrainingTypeWrite(name="Ladders"))
        await client.add_training_record("104", TrainingRecordWrite(completed=date(2026, 11, 2), type_id=training_type.id))

        with pytest.raises(BambooHRRejected, match="still has employee training records"):
            await client.delete_training_type(training_type.id)

    async def test_no_training_settings_access(self) -> None:
        from assistant.hris.bamboohr.sandbox import create_bamboohr_sandbox
        from tests.support import LiveServer

        with LiveServer(create_bamboohr_sandbox(admin=False)) as server:
            async with BambooHRClient(server.url, DEFAULT_API_KEY, max_retries=0) as client:
                with pytest.raises(BambooHRRejected, match="lacks permission .*HTTP 403"):
                    await client.list_training_types()

    def test_write_validation(self) -> None:
        with pytest.raises(ValueError, match="renewable training type needs a frequency"):
            TrainingTypeWrite(name="Annual", renewable=True)
        with pytest.raises(ValueError, match="applies only to a required training type"):
            TrainingTypeWrite(name="Welcome", due_from_hire_date=10)


def _mock_client(handler: httpx.MockTransport) -> BambooHRClient:
    http = httpx.AsyncClient(transport=handler)
    return BambooHRClient("https://acme.bamboohr.com", "key", http_client=http, max_retries=0)


def _responder(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body, headers=headers))


def _raiser(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("transport", "expected", "message"),
        [
            pytest.param(_raiser(httpx.ReadTimeout("slow")), BambooHRUnavailable, "did not answer", id="timeout"),
            pytest.param(_raiser(httpx.ConnectError("refused")), BambooHRUnavailable, "could not be reached", id="connect-error"),
            pytest.param(_responder(429, headers={"Retry-After": "2"}), BambooHRUnavailable, "HTTP 429", id="429"),
            pytest.param(_responder(503), BambooHRUnavailable, "HTTP 503", id="503"),
            pytest.param(_responder(500), BambooHRUnavailable, "HTTP 500", id="500"),
            pytest.param(_responder(400, headers={"X-BambooHR-Error-Message": "Bad field"}), BambooHRRejected, "HTTP 400: Bad field", id="400"),
            pytest.param(_responder(401), BambooHRRejected, "rejected the API key", id="401"),
            pytest.param(_responder(403), BambooHRRejected, "lacks permission", id="403"),
            pytest.param(_responder(404), BambooHRRejected, "HTTP 404", id="404"),
            pytest.param(_responder(200, b"<html>login</html>"), BambooHRRejected, "not JSON", id="malformed-body"),
            pytest.param(_responder(200, b'{"latest": 5, "employees": {"1": {"id": "1"}}}'), BambooHRRejected, "unexpected body", id="wrong-shape"),
        ],
    )
    async def test_maps_to_error(self, transport: httpx.MockTransport, expected: type[BambooHRError], message: str) -> None:
        client = _mock_client(transport)

        with pytest.raises(expected, match=message) as caught:
            await client.changed_employees("1970-01-01T00:00:00Z")

        assert type(caught.value) is expected

    async def test_retry_after_read(self) -> None:
        client = _mock_client(_responder(429, headers={"Retry-After": "2"}))

        with pytest.raises(BambooHRUnavailable) as caught:
            await client.changed_employees("1970-01-01T00:00:00Z")

        assert caught.value.retry_after == 2.0
        assert caught.value.status_code == 503

    async def test_request_shape(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(201, json={"id": "9", "employeeId": "5", "type": "2", "completed": "2026-11-02", "cost": "10.00 USD"})

        client = _mock_client(httpx.MockTransport(handler))
        written = TrainingRecordWrite(completed=date(2026, 11, 2), type_id=2, cost=Cost(amount=Decimal("10"), currency="USD"))

        await client.add_training_record("5", written)

        request = seen[0]
        assert str(request.url) == "https://acme.bamboohr.com/api/v1/training/record/employee/5"
        assert request.headers["accept"] == "application/json"
        assert request.headers["authorization"] == httpx.BasicAuth("key", "x")._auth_header
        assert json.loads(request.content) == {"completed": "2026-11-02", "type": 2, "cost": {"currency": "USD", "cost": "10.00"}}


class TestBaseUrl:
    @pytest.mark.parametrize(
        ("configured", "expected"),
        [
            ("https://acme.bamboohr.com", "https://acme.bamboohr.com/api/v1/"),
            ("https://api.bamboohr.com/api/gateway.php/acme/", "https://api.bamboohr.com/api/gateway.php/acme/v1/"),
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081/api/v1/"),
            ("https://acme.bamboohr.com/api/v1", "https://acme.bamboohr.com/api/v1/"),
        ],
    )
    def test_api_root(self, configured: str, expected: str) -> None:
        assert api_base_url(configured) == expected

    def test_not_a_url(self) -> None:
        with pytest.raises(BambooHRRejected, match="is not an http"):
            api_base_url("acme")
