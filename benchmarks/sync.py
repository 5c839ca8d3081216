"""Time a full sync of a 10,000-person roster into the Moodle sandbox, then a resync with no change.

Run with `python -m benchmarks.sync [--people N]`. The roster is generated in memory
from the distributions of the HR data set in ../shared/data/hr: departments, positions
per department, states, hire dates and the share of leavers. Names and e-mail
addresses are made up. Both runs go through `run_sync` against the sandbox served on
127.0.0.1 with a SQLite database in a temporary folder. The script prints wall times,
Moodle calls per function and the machine's CPU count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from assistant.db import create_db_engine, migrate
from assistant.logging import configure_logging
from assistant.hris.csv_source import read_csv_people
from assistant.hris.source import SourceBatch
from assistant.moodle.client import MoodleClient
from assistant.people.mapping import load_mapping
from assistant.people.models import PersonStatus
from assistant.people.schemas import PersonRecord
from assistant.provisioning.schemas import RunReport
from assistant.provisioning.service import run_sync

REAL_ROSTER = Path(__file__).resolve().parents[2] / "shared" / "data" / "hr" / "HRDataset_v14.csv"
EXAMPLE_MAPPING = Path(__file__).resolve().parents[1] / "config" / "mapping.example.yaml"
SANDBOX_TOKEN = "benchmark-token"
# People per manager in the generated roster; the real data set has about 15.
REPORTS_PER_MANAGER = 15
GIVEN_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jana", "Kofi", "Lena")
FAMILY_NAMES = ("Test", "Example", "Sample", "Placeholder", "Demo", "Fixture", "Mock", "Trial", "Probe")


class RosterSource:
    """An in-memory HR source that lists the whole generated roster."""

    name = "benchmark"

    def __init__(self, records: list[PersonRecord]) -> None:
        self.records = records

    async def fetch_people(self) -> SourceBatch:
        return SourceBatch(records=list(self.records), rejected=[], warnings=[], complete=True)

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        return await self.fetch_people()


def generate_roster(size: int, *, seed: int = 7) -> list[PersonRecord]:
    """Generate `size` people whose department, position, state, hire date and status follow the real roster."""
    real = read_csv_people(REAL_ROSTER.read_bytes(), load_mapping(EXAMPLE_MAPPING)).records
    rng = random.Random(seed)
    leaver_share = sum(1 for record in real if record.status is PersonStatus.LEAVER) / len(real)
    positions = [(record.department or "", record.job_title or "") for record in real]
    states = [record.location or "" for record in real]
    hire_dates = [record.hire_date for record in real if record.hire_date]

    people = [_person(rng, f"{100000 + index}", positions, states, hire_dates, leaver_share) for index in range(size)]
    _assign_managers(rng, people)
    return [PersonRecord(**person) for person in people]


def _person(
    rng: random.Random,
    employee_id: str,
    positions: list[tuple[str, str]],
    states: list[str],
    hire_dates: list[Any],
    leaver_share: float,
) -> dict[str, Any]:
    department, title = rng.choice(positions)
    hired = rng.choice(hire_dates) + timedelta(days=rng.randint(-30, 30))
    leaver = rng.random() < leaver_share
    return {
        "employee_id": employee_id,
        "given_name": rng.choice(GIVEN_NAMES),
        "family_name": rng.choice(FAMILY_NAMES),
        "email": f"emp{employee_id}@example.invalid",
        "job_title": title,
        "department": department,
        "location": rng.choice(states),
        "hire_date": hired,
        "termination_date": hired + timedelta(days=rng.randint(30, 2000)) if leaver else None,
        "status": PersonStatus.LEAVER if leaver else PersonStatus.ACTIVE,
    }


def _assign_managers(rng: random.Random, people: list[dict[str, Any]]) -> None:
    """Make one in REPORTS_PER_MANAGER people of each department a manager, reporting to the department's first."""
    by_department: dict[str, list[dict[str, Any]]] = {}
    for person in people:
        by_department.setdefault(person["department"], []).append(person)

    for members in by_department.values():
        managers = members[: max(1, len(members) // REPORTS_PER_MANAGER)]
        head = managers[0]["employee_id"]
        for person in members:
            if person in managers:
                person["manager_employee_id"] = None if person["employee_id"] == head else head
            else:
                person["manager_employee_id"] = rng.choice(managers)["employee_id"]


class _Server:
    def __init__(self, app: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> _Server:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _calls(stats: dict[str, Any]) -> dict[str, int]:
    calls = stats.get("calls", stats)
    return {name: int(count) for name, count in calls.items() if isinstance(count, int)}


async def _timed_run(engine: Any, client: MoodleClient, source: RosterSource, mapping: Any, url: str) -> tuple[float, RunReport, dict[str, int]]:
    async with httpx.AsyncClient() as admin:
        before = _calls((await admin.get(f"{url}/_sandbox/stats")).json())
        started = time.perf_counter()
        report = await run_sync(engine, client, source, mapping=mapping, dry_run=False, force=False)
        elapsed = time.perf_counter() - started
        after = _calls((await admin.get(f"{url}/_sandbox/stats")).json())
    return elapsed, report, {name: count - before.get(name, 0) for name, count in after.items() if count - before.get(name, 0)}


async def main(size: int) -> None:
    from assistant.moodle.sandbox import create_sandbox_app
    from assistant.people.mapping import default_mapping

    configure_logging(level="WARNING")
    roster = generate_roster(size)
    mapping = default_mapping()
    with tempfile.TemporaryDirectory() as folder, _Server(create_sandbox_app(token=SANDBOX_TOKEN)) as server:
        engine = create_db_engine(f"sqlite:///{folder}/benchmark.db")
        migrate(engine)
        async with MoodleClient(server.url, SANDBOX_TOKEN) as client:
            source = RosterSource(roster)
            full_time, full, full_calls = await _timed_run(engine, client, source, mapping, server.url)
            again_time, again, again_calls = await _timed_run(engine, client, source, mapping, server.url)
        engine.dispose()

    statuses = Counter(record.status.value for record in roster)
    print(f"cpu_count: {os.cpu_count()}")
    print(f"roster: {size} people ({statuses['active']} active, {statuses['leaver']} leavers), generated in memory")
    _print_run("full sync", full_time, full, full_calls)
    _print_run("no-change resync", again_time, again, again_calls)


def _print_run(label: str, elapsed: float, report: RunReport, calls: dict[str, int]) -> None:
    counts = ", ".join(f"{report.counts.get(name, 0)} {name}" for name in ("create", "update", "suspend", "unchanged", "skip", "failed"))
    print(f"{label}: {elapsed:.2f} s, status {report.status}; {counts}")
    print(f"  Moodle calls: {sum(calls.values())} ({', '.join(f'{name} {count}' for name, count in sorted(calls.items()))})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000, help="Roster size (people).")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.people))
