"""Fixtures for provisioning tests: the Moodle sandbox on loopback, a client for it and an in-memory HR source."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.hris.source import RejectedRow, SourceBatch
from assistant.moodle.client import MoodleClient
from assistant.moodle.sandbox import create_sandbox_app
from assistant.moodle.sandbox.state import FIXTURE_PATH
from assistant.people.models import PersonStatus
from assistant.people.schemas import PersonRecord
from tests.support import LiveServer

TOKEN = "provisioning-test-token"
# Calls that change Moodle users; a no-change run must make none of them.
WRITE_FUNCTIONS = ("core_user_create_users", "core_user_update_users", "core_user_delete_users")


class Sandbox:
    """The Moodle sandbox served on 127.0.0.1, with helpers to read its call counts and users."""

    def __init__(self, server: LiveServer, app: Any) -> None:
        self.url = server.url
        self.state = app.state.sandbox

    def calls(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.url}/_sandbox/stats").json()["calls"])

    def writes(self) -> int:
        calls = self.calls()
        return sum(calls.get(name, 0) for name in WRITE_FUNCTIONS)

    def add_fault(self, **fault: Any) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json=fault).raise_for_status()

    def users_with_idnumber(self, idnumber: str) -> list[Any]:
        return [user for user in self.state.users.values() if not user.deleted and user.idnumber == idnumber]


class ListSource:
    """An in-memory HR source; tests change `records` between runs."""

    def __init__(self, records: list[PersonRecord], *, complete: bool = True, name: str = "test") -> None:
        self.name = name
        self.records = records
        self.complete = complete
        self.rejected: list[RejectedRow] = []

    async def fetch_people(self) -> SourceBatch:
        return SourceBatch(records=list(self.records), rejected=list(self.rejected), warnings=[], complete=self.complete)

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        return await self.fetch_people()


def person(employee_id: str, **fields: Any) -> PersonRecord:
    """Build a valid active person whose e-mail and names derive from the employee ID unless given."""
    values: dict[str, Any] = {
        "given_name": "Ana",
        "family_name": f"Test{employee_id}",
        "email": f"p{employee_id}@example.invalid",
        "department": "Sales",
        "status": PersonStatus.ACTIVE,
    }
    values.update(fields)
    return PersonRecord(employee_id=employee_id, **values)


def sandbox_fixture(*, extra_profile_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(FIXTURE_PATH).read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    for shortname in extra_profile_fields:
        data["profile_fields"].append({"shortname": shortname, "name": shortname.title(), "datatype": "text", "forceunique": False})
    return data


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    app = create_sandbox_app(token=TOKEN, fixture=sandbox_fixture(extra_profile_fields=("manager",)))
    with LiveServer(app) as server:
        yield Sandbox(server, app)


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[MoodleClient]:
    async with MoodleClient(sandbox.url, TOKEN, batch_size=10, max_retries=1, backoff_base=0.01) as moodle:
        yield moodle
