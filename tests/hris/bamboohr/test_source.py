from __future__ import annotations

from datetime import date

import pytest

from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.exceptions import BambooHRRejected
from assistant.hris.bamboohr.source import MAX_SINGLE_FETCHES, BambooHRSource
from assistant.people.mapping import MappingConfig, SourceMapping, default_mapping
from assistant.people.models import PersonStatus
from tests.hris.bamboohr.conftest import SandboxControl


def _by_employee_number() -> MappingConfig:
    fields = dict(default_mapping().source("bamboohr").fields)
    fields["employee_id"] = "employeeNumber"
    mapping = SourceMapping(fields=fields, status_map={"Active": PersonStatus.ACTIVE, "Inactive": PersonStatus.LEAVER})
    return MappingConfig(sources={"bamboohr": mapping})


class TestFullPull:
    async def test_everyone_mapped(self, client: BambooHRClient) -> None:
        batch = await BambooHRSource(client, default_mapping()).fetch_people()

        assert len(batch.records) == 8
        assert batch.rejected == []
        assert batch.warnings == []
        assert batch.complete is True
        assert batch.cursor == "2026-01-12T09:00:00+00:00"

    async def test_record_fields(self, client: BambooHRClient) -> None:
        batch = await BambooHRSource(client, default_mapping()).fetch_people()
        person = next(record for record in batch.records if record.employee_id == "104")

        assert person.given_name == "J\u00fcrgen"
        assert person.email == "jurgen.abara@example.invalid"
        assert person.manager_employee_id == "102"
        assert person.hire_date == date(2017, 4, 18)
        assert person.termination_date is None
        assert person.status == PersonStatus.ACTIVE
        assert person.extra == {"bamboohr_id": "104"}

    async def test_inactive_is_leaver(self, client: BambooHRClient) -> None:
        batch = await BambooHRSource(client, default_mapping()).fetch_people()
        person = next(record for record in batch.records if record.employee_id == "107")

        assert person.status == PersonStatus.LEAVER
        assert person.termination_date == date(2025, 10, 31)

    async def test_employee_number_as_id(self, client: BambooHRClient) -> None:
        batch = await BambooHRSource(client, _by_employee_number()).fetch_people()
        by_id = {record.employee_id: record for record in batch.records}

        assert "00042" in by_id
        assert by_id["00043"].manager_employee_id == "00042"
        assert by_id["00042"].manager_employee_id == "00001"
        assert by_id["00043"].extra == {"bamboohr_id": "103"}
        assert batch.warnings == []

    async def test_unknown_field_stops_pull(self, client: BambooHRClient) -> None:
        config = default_mapping()
        config.sources["bamboohr"].fields["location"] = "officeBuilding"

        with pytest.raises(BambooHRRejected, match="left the field\\(s\\) officeBuilding out of the report"):
            await BambooHRSource(client, config).fetch_people()

    async def test_invalid_row_rejected(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.load({"id": "120", "firstName": "Zed", "lastName": "Invalid", "workEmail": "zed@", "status": "Active"})

        batch = await BambooHRSource(client, default_mapping()).fetch_people()

        assert len(batch.records) == 8
        assert batch.rejected[0].employee_id == "120"
        assert batch.rejected[0].reason == "workEmail: email 'zed@' is not a valid address"


class TestIncrementalPull:
    async def test_changed_since_cursor(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        source = BambooHRSource(client, default_mapping())
        full = await source.fetch_people()
        sandbox.load({"id": "103", "jobTitle": "Line Lead"})

        batch = await source.fetch_changed(full.cursor)

        changed = {record.employee_id: record for record in batch.records}
        assert changed["103"].job_title == "Line Lead"
        # The employee changed exactly at the cursor time comes back too, because `since` is inclusive.
        assert set(changed) == {"103", "108"}
        assert batch.complete is False
        assert batch.cursor is not None
        assert full.cursor is not None
        assert batch.cursor > full.cursor

    async def test_no_changes_keeps_cursor(self, client: BambooHRClient) -> None:
        source = BambooHRSource(client, default_mapping())

        batch = await source.fetch_changed("2026-06-01T00:00:00+00:00")

        assert batch.records == []
        assert batch.cursor == "2026-06-01T00:00:00+00:00"

    async def test_deleted_are_removed(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.delete("106")

        batch = await BambooHRSource(client, default_mapping()).fetch_changed("2026-06-01T00:00:00+00:00")

        assert batch.removed == ["106"]
        assert batch.records == []

    async def test_without_cursor_full_pull(self, client: BambooHRClient) -> None:
        batch = await BambooHRSource(client, default_mapping()).fetch_changed(None)

        assert len(batch.records) == 8
        assert batch.complete is True

    async def test_supervisor_outside_batch(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.load({"id": "104", "jobTitle": "Shift Lead"})

        batch = await BambooHRSource(client, _by_employee_number()).fetch_changed("2026-06-01T00:00:00+00:00")

        assert [record.employee_id for record in batch.records] == ["00044"]
        assert batch.records[0].manager_employee_id == "00042"
        assert sandbox.stats()["GET employees/102"] == 1

    async def test_many_changes_use_report(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        new_people = [
            {"id": str(500 + number), "firstName": f"New{number}", "lastName": "Hire", "status": "Active"}
            for number in range(MAX_SINGLE_FETCHES + 1)
        ]
        sandbox.load(*new_people)

        batch = await BambooHRSource(client, default_mapping()).fetch_changed("2026-06-01T00:00:00+00:00")

        assert len(batch.records) == MAX_SINGLE_FETCHES + 1
        assert sandbox.stats()["POST reports/custom"] == 1
        assert sandbox.stats().get("GET employees/500", 0) == 0

    async def test_deleted_with_employee_number_warned(self, client: BambooHRClient, sandbox: SandboxControl) -> None:
        sandbox.delete("106")

        batch = await BambooHRSource(client, _by_employee_number()).fetch_changed("2026-06-01T00:00:00+00:00")

        assert batch.removed == []
        assert "deleted employee 106" in batch.warnings[0]
