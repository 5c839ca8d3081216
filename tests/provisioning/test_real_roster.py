"""The HR data set (HRDataset_v14) through the CSV source, the sync and the Moodle sandbox.

The data set has no e-mail column, and Moodle cannot create a user without an e-mail.
The example mapping's `email_fallback` gives each person a placeholder address; without
it the file provisions nobody and reports every active employee as invalid. The leaver
test reads a copy in a temporary folder with one row turned into a leaver.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from assistant.hris.csv_source import CsvSource
from assistant.moodle.client import MoodleClient
from assistant.people.mapping import MappingConfig, load_mapping
from assistant.provisioning.models import ProvisioningAccount
from assistant.provisioning.schemas import RunReport
from assistant.provisioning.service import run_sync
from tests.provisioning.conftest import Sandbox
from tests.support import shared_path

EXAMPLE_MAPPING = Path(__file__).resolve().parents[2] / "config" / "mapping.example.yaml"
ACTIVE_VALID = 203
LEAVERS_VALID = 101
REJECTED_ROWS = 7


def _roster() -> Path:
    return shared_path("data", "hr", "HRDataset_v14.csv")


def _mapping(*, email_fallback: bool = True) -> MappingConfig:
    mapping = load_mapping(EXAMPLE_MAPPING)
    mapping.moodle.custom_fields["manager"] = "manager_employee_id"
    if not email_fallback:
        mapping.moodle.email_fallback = None
    return mapping


def _with_leaver(original: Path, folder: Path, *, leave: str) -> Path:
    """Copy the roster with the row of EmpID `leave` turned into a leaver."""
    lines = original.read_bytes().decode("utf-8").split("\n")
    output = [lines[0].rstrip("\r")]
    for line in lines[1:]:
        if not line.strip():
            continue
        values = next(csv.reader([line]))
        if values[1].strip() == leave:
            line = line.replace("N/A-StillEmployed,Active,", "career change,Voluntarily Terminated,").replace(",,career", ",10/31/2026,career")
        output.append(line.rstrip("\r"))

    path = folder / "roster_with_leaver.csv"
    path.write_bytes(("\n".join(output) + "\n").encode("utf-8"))
    return path


async def _sync(engine: Engine, client: MoodleClient, path: Path, mapping: MappingConfig) -> RunReport:
    return await run_sync(engine, client, CsvSource(path, mapping), mapping=mapping, dry_run=False, force=False)


async def test_roster_without_email_fallback_provisions_nobody(engine: Engine, client: MoodleClient, sandbox: Sandbox) -> None:
    report = await _sync(engine, client, _roster(), _mapping(email_fallback=False))

    assert report.counts["invalid"] == ACTIVE_VALID
    assert report.counts["create"] == 0
    assert report.counts["skip"] == LEAVERS_VALID
    assert sandbox.writes() == 0
    assert all("email" in (item.reason or "") for item in report.items if item.action.value == "invalid")


async def test_roster_provisions_active_employees(engine: Engine, client: MoodleClient, sandbox: Sandbox, tmp_path: Path) -> None:
    report = await _sync(engine, client, _roster(), _mapping())

    assert report.status == "succeeded"
    assert report.people.records == ACTIVE_VALID + LEAVERS_VALID
    assert len(report.people.rejected) == REJECTED_ROWS
    assert all(row.reason for row in report.people.rejected)
    assert Counter(row.reason.split(";")[0] for row in report.people.rejected)["EmpID is empty"] >= 1
    assert report.counts["create"] == ACTIVE_VALID
    assert report.counts["skip"] == LEAVERS_VALID
    assert report.counts["failed"] == 0

    users = await client.get_users_by_field("idnumber", ["10002"])
    assert len(users) == 1
    assert users[0].username == "emp10002"
    assert users[0].department == "Production"
    assert users[0].custom_field("manager") == "11"
    assert users[0].custom_field("employeeid") == "10002"
    assert users[0].email == "emp10002@noreply.example.invalid"
    # Leavers who never had an account are not created.
    assert sandbox.users_with_idnumber("10252") == []


async def test_roster_second_run_writes_nothing(engine: Engine, client: MoodleClient, sandbox: Sandbox, tmp_path: Path) -> None:
    roster = _roster()
    mapping = _mapping()
    await _sync(engine, client, roster, mapping)
    writes = sandbox.writes()

    report = await _sync(engine, client, roster, mapping)

    assert sandbox.writes() == writes
    assert report.counts["unchanged"] == ACTIVE_VALID
    assert report.counts["create"] + report.counts["update"] + report.counts["suspend"] == 0


async def test_roster_leaver_suspended(engine: Engine, client: MoodleClient, tmp_path: Path) -> None:
    mapping = _mapping()
    await _sync(engine, client, _roster(), mapping)

    report = await _sync(engine, client, _with_leaver(_roster(), tmp_path, leave="10002"), mapping)

    suspended = [item for item in report.items if item.action.value == "suspend"]
    assert [item.employee_id for item in suspended] == ["10002"]
    assert suspended[0].reason == "leaver since 2026-10-31"
    assert (await client.get_users_by_field("idnumber", ["10002"]))[0].suspended is True
    with Session(engine) as session:
        account = session.exec(select(ProvisioningAccount).where(ProvisioningAccount.employee_id == "10002")).one()
    assert account.suspended is True
