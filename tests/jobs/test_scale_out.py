"""Three worker processes share one PostgreSQL queue; one is killed mid-run; every job runs once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.db import create_db_engine, migrate
from assistant.jobs.probe import probe_counts
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES

JOB_COUNT = 10_000
WORKERS = 3


@pytest.fixture
def queue_database() -> Iterator[tuple[str, Engine]]:
    schema = f"q_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means no PostgreSQL here
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__})")

    url = f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    engine = create_db_engine(url)
    migrate(engine)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _assistant(*args: str, database_url: str, **popen: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ASSISTANT_DATABASE_URL": database_url, "ASSISTANT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", *args], env=env, **popen)  # type: ignore[call-overload]


def _wait_for_rows(engine: Engine, run_id: str, target: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    rows = 0
    while time.monotonic() < deadline:
        with Session(engine) as session:
            rows, _ = probe_counts(session, run_id)
        if rows >= target:
            break
        time.sleep(0.25)
    return rows


@pytest.mark.slow
def test_killed_worker_loses_and_duplicates_nothing(queue_database: tuple[str, Engine]) -> None:
    url, engine = queue_database
    defer = _assistant("jobs", "selftest", "--count", str(JOB_COUNT), "--no-wait", database_url=url, stdout=subprocess.PIPE)
    output, _ = defer.communicate(timeout=120)
    assert defer.returncode == 0
    run_id = output.decode().split("run ")[-1].strip()

    workers = [_assistant("worker", "--concurrency", "8", database_url=url) for _ in range(WORKERS)]
    try:
        assert _wait_for_rows(engine, run_id, JOB_COUNT // 3, timeout=240) >= JOB_COUNT // 3
        victim = workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)

        rows = _wait_for_rows(engine, run_id, JOB_COUNT, timeout=300)
    finally:
        for process in workers[1:]:
            process.send_signal(signal.SIGTERM)
        for process in workers[1:]:
            process.wait(timeout=60)

    assert rows == JOB_COUNT
    with engine.connect() as connection:
        distinct_keys = connection.execute(
            text("SELECT count(DISTINCT key) FROM jobs_probe WHERE run_id = :run"), {"run": run_id}
        ).scalar_one()
        unfinished = connection.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")
        ).scalar_one()
    assert distinct_keys == JOB_COUNT
    assert unfinished == 0
