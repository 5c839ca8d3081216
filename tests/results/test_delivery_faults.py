"""End-to-end delivery to the BambooHR sandbox while it fails on purpose.

The outbox worker delivers over real loopback HTTP. The checks count what the sandbox
stored: every result exactly once, whatever failed on the way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from assistant.db import session_scope
from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, create_bamboohr_sandbox
from assistant.results import outbox
from assistant.results.models import CourseCompletion
from assistant.results.service import record_completion
from assistant.results.targets.bamboohr import BambooHRTarget, notes_key
from assistant.results.worker import OutboxWorker, RetryPolicy
from tests.support import LiveServer

COURSES = ("COC-101", "ITSEC-101", "CRM-201", "NEG-201")
FAST_RETRIES = RetryPolicy(
    max_attempts=30, max_rejected_attempts=3, base_delay=0.01, max_delay=0.05
)


@pytest.fixture
def sandbox() -> Iterator[tuple[str, Any]]:
    app = create_bamboohr_sandbox(employees=[])
    with LiveServer(app) as server:
        yield server.url, app.state.sandbox


def _load_results(engine: Engine, state: Any, people: int) -> int:
    """Add `people` employees to the sandbox and one completion per person and course."""
    state.load(
        [
            {"id": str(1000 + number), "firstName": "Test", "status": "Active"}
            for number in range(people)
        ],
        replace=False,
    )
    with session_scope(engine) as session:
        for number in range(people):
            for index, course in enumerate(COURSES):
                completion = CourseCompletion(
                    employee_id=str(1000 + number),
                    course_id=index + 2,
                    course_code=course,
                    course_name=f"Course {course}",
                    completed_at=datetime(2026, 2, 1 + index, 9, tzinfo=UTC),
                    grade=80.0,
                    grade_max=100.0,
                )
                record_completion(session, completion, targets=["bamboohr"])
    return people * len(COURSES)


def _stored_keys(state: Any) -> Counter[str]:
    return Counter(
        notes_key(record.get("notes")) or "" for record in state.training_records.values()
    )


async def _deliver_until_done(engine: Engine, worker: OutboxWorker, *, deadline: float) -> None:
    while time.monotonic() < deadline:
        await worker.drain()
        with session_scope(engine) as session:
            counts = outbox.count_by_status(session)
        if counts["pending"] == 0 and counts["in_flight"] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox not drained before the deadline: {counts}")


@pytest.mark.slow
async def test_thousand_results_with_random_failures(
    engine: Engine, sandbox: tuple[str, Any]
) -> None:
    url, state = sandbox
    expected = _load_results(engine, state, people=250)
    httpx.post(f"{url}/_sandbox/faults", json={"failure_rate": 0.3, "seed": 7}).raise_for_status()

    async with BambooHRClient(
        url, DEFAULT_API_KEY, timeout=5.0, max_retries=1, backoff_base=0.001
    ) as client:
        worker = OutboxWorker(
            engine, [BambooHRTarget(client)], policy=FAST_RETRIES, claim_size=100, concurrency=4
        )
        await _deliver_until_done(engine, worker, deadline=time.monotonic() + 120)

    keys = _stored_keys(state)
    with session_scope(engine) as session:
        counts = outbox.count_by_status(session)
    assert expected == 1000
    assert state.stats["faults_injected"] > 100
    assert counts["delivered"] == 1000
    assert counts["dead"] == 0
    assert len(state.training_records) == 1000
    assert max(keys.values()) == 1
    assert len(state.training_types) == len(COURSES)


def _worker_command(engine: Engine) -> tuple[list[str], dict[str, str]]:
    database_url = engine.url.render_as_string(hide_password=False)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_DATABASE_URL=database_url,
        ASSISTANT_RESULTS_TARGETS="bamboohr",
        ASSISTANT_BAMBOOHR_API_KEY=DEFAULT_API_KEY,
        ASSISTANT_BAMBOOHR_TIMEOUT="5",
        ASSISTANT_LOG_LEVEL="WARNING",
    )
    # The PostgreSQL fixture puts the tables in a schema of their own; libpq reads PGOPTIONS.
    if engine.dialect.name == "postgresql":
        env["PGOPTIONS"] = _search_path_option(engine)
    return [
        sys.executable,
        "-m",
        "assistant.cli",
        "results",
        "deliver",
        "--lease-seconds",
        "2",
    ], env


def _search_path_option(engine: Engine) -> str:
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    return f"-csearch_path={schema}"


@pytest.mark.slow
def test_killed_worker_loses_and_duplicates_nothing(
    engine: Engine, sandbox: tuple[str, Any], tmp_path: Path
) -> None:
    url, state = sandbox
    expected = _load_results(engine, state, people=30)
    # Slow every request, so the worker is mid-delivery when it is killed.
    httpx.post(f"{url}/_sandbox/faults", json={"delay": 0.02}).raise_for_status()
    command, env = _worker_command(engine)
    env["ASSISTANT_BAMBOOHR_URL"] = url
    env["ASSISTANT_DATA_DIR"] = str(tmp_path)

    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(state.training_records) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    stored_at_kill = len(state.training_records)

    httpx.delete(f"{url}/_sandbox/faults").raise_for_status()
    time.sleep(2.1)  # let the killed worker's leases expire
    restarted = subprocess.run(
        [*command, "--once"], env=env, capture_output=True, text=True, timeout=120
    )

    with session_scope(engine) as session:
        counts = outbox.count_by_status(session)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert 20 <= stored_at_kill < expected
    assert counts["delivered"] == expected
    assert len(state.training_records) == expected
    assert max(_stored_keys(state).values()) == 1
