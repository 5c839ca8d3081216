"""People from BambooHR: a full pull through a custom report, an incremental pull through `employees/changed`.

The cursor is BambooHR's `latest` change time. A full pull reads it first, from every change since
the Unix epoch, so that a change made during the pull is fetched again by the next incremental
pull rather than missed. `employees/changed` includes changes at the cursor time, so the next pull
may return a few people again, which the import counts as unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

import structlog

from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.exceptions import BambooHRRejected
from assistant.hris.bamboohr.schemas import EmployeeValues
from assistant.hris.records import BatchBuilder
from assistant.hris.source import SourceBatch
from assistant.people.mapping import MappingConfig, SourceMapping

log = structlog.get_logger()

EPOCH = "1970-01-01T00:00:00Z"
# BambooHR's own employee ID field; always returned, never requested.
ID_FIELD = "id"
# Field BambooHR uses for the supervisor's BambooHR employee ID.
SUPERVISOR_ID_FIELD = "supervisorEId"
# Extra attribute that keeps BambooHR's employee ID, which the training endpoints need.
BAMBOOHR_ID_EXTRA = "bamboohr_id"
# BambooHR's value for an empty date.
EMPTY_DATE = "0000-00-00"
# Above this many changed employees, one report is cheaper than one request per employee.
MAX_SINGLE_FETCHES = 50
MAX_CONCURRENT_FETCHES = 4


class BambooHRSource:
    """BambooHR as an HR source, mapped with the `bamboohr` source of the mapping file."""

    def __init__(
        self,
        client: BambooHRClient,
        config: MappingConfig,
        *,
        name: str = "bamboohr",
        known_employee_ids: Collection[str] = (),
    ) -> None:
        self.client = client
        self.config = config
        self.name = name
        self.mapping: SourceMapping = config.source(name)
        self.known_employee_ids = known_employee_ids

    @property
    def requested_fields(self) -> list[str]:
        columns = [*self.mapping.fields.values(), *self.mapping.extra.values()]
        return [column for column in dict.fromkeys(columns) if column != ID_FIELD]

    async def fetch_people(self) -> SourceBatch:
        """Pull every employee, active or not, through one custom report."""
        changes = await self.client.changed_employees(EPOCH)
        employees = await self._report_employees()
        batch = await self._build(employees, complete=True, cursor=changes.latest)
        log.info("hris.bamboohr.full_pull", records=len(batch.records), rejected=len(batch.rejected), cursor=batch.cursor)
        return batch

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        """Pull the employees changed at or after `since`; without a cursor, pull everyone."""
        if since is None:
            return await self.fetch_people()

        changes = await self.client.changed_employees(since)
        changed_ids = changes.changed_ids
        if len(changed_ids) > MAX_SINGLE_FETCHES:
            wanted = set(changed_ids)
            employees = [employee for employee in await self._report_employees() if employee.id in wanted]
        else:
            employees = await self._fetch_each(changed_ids)

        removed, unresolved = self._removed_ids(changes.deleted_ids)
        batch = await self._build(employees, complete=False, cursor=changes.latest or since, removed=removed)
        batch.warnings.extend(unresolved)
        log.info(
            "hris.bamboohr.incremental_pull",
            changed=len(changed_ids),
            deleted=len(changes.deleted_ids),
            records=len(batch.records),
            rejected=len(batch.rejected),
            cursor=batch.cursor,
        )
        return batch

    async def _report_employees(self) -> list[EmployeeValues]:
        report = await self.client.custom_report(self.requested_fields)
        missing = [name for name in self.requested_fields if name not in report.field_ids]
        if missing:
            # Importing without them would blank these fields for everyone.
            raise BambooHRRejected(
                f"BambooHR left the field(s) {', '.join(missing)} out of the report: they are unknown or hidden "
                f"from the API key's user. Fix sources.{self.name}.fields in the mapping or the key's permissions"
            )
        return report.employees

    async def _fetch_each(self, employee_ids: Sequence[str]) -> list[EmployeeValues]:
        semaphore = asyncio.Semaphore(MAX_CONCURRENT_FETCHES)

        async def fetch(employee_id: str) -> EmployeeValues:
            async with semaphore:
                return await self.client.get_employee(employee_id, self.requested_fields)

        return list(await asyncio.gather(*(fetch(employee_id) for employee_id in employee_ids)))

    async def _build(
        self,
        employees: list[EmployeeValues],
        *,
        complete: bool,
        cursor: str | None,
        removed: Collection[str] = (),
    ) -> SourceBatch:
        supervisors = await self._supervisor_employee_ids(employees)
        builder = BatchBuilder(self.config, self.mapping, known_employee_ids=self.known_employee_ids)

        for position, employee in enumerate(employees, start=1):
            values = self._row_values(employee, supervisors)
            record = builder.add_row(position, values)
            if record is not None:
                record.extra[BAMBOOHR_ID_EXTRA] = employee.id
        return builder.build(complete=complete, cursor=cursor, removed=removed)

    def _row_values(self, employee: EmployeeValues, supervisors: dict[str, str]) -> dict[str, str | None]:
        values = {name: (None if value == EMPTY_DATE else value) for name, value in employee.values.items()}
        values[ID_FIELD] = employee.id
        supervisor = values.get(SUPERVISOR_ID_FIELD)
        if supervisor and supervisors:
            values[SUPERVISOR_ID_FIELD] = supervisors.get(supervisor, supervisor)
        return values

    async def _supervisor_employee_ids(self, employees: list[EmployeeValues]) -> dict[str, str]:
        """Map supervisors' BambooHR IDs to the mapped employee ID field, when that field is not BambooHR's ID.

        Supervisors outside the batch are looked up one by one. Empty when no translation is needed.
        """
        id_column = self.mapping.fields["employee_id"]
        if id_column == ID_FIELD or self.mapping.fields.get("manager_employee_id") != SUPERVISOR_ID_FIELD:
            return {}

        known = {employee.id: employee.values.get(id_column) for employee in employees}
        wanted = {employee.values.get(SUPERVISOR_ID_FIELD) for employee in employees}
        outside = sorted(supervisor for supervisor in wanted if supervisor and supervisor not in known)
        for supervisor in outside:
            try:
                found = await self.client.get_employee(supervisor, [id_column])
            except BambooHRRejected as exc:
                if exc.http_status != 404:
                    raise
                # A deleted supervisor keeps its BambooHR ID, which the manager check reports as unknown.
                continue
            known[supervisor] = found.values.get(id_column)
        return {bamboo_id: employee_id for bamboo_id, employee_id in known.items() if employee_id}

    def _removed_ids(self, deleted_ids: list[str]) -> tuple[list[str], list[str]]:
        if self.mapping.fields["employee_id"] == ID_FIELD:
            return deleted_ids, []
        warnings = [
            f"BambooHR deleted employee {deleted_id}, whose {self.mapping.fields['employee_id']} can no longer be "
            "read; mark that person as a leaver by hand if needed"
            for deleted_id in deleted_ids
        ]
        return [], warnings
