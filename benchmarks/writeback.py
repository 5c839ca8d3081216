"""Measure outbox deliveries per second to the BambooHR sandbox, with and without faults.

Run with `python -m benchmarks.writeback [--results N] [--failure-rate R ...] [--database sqlite|postgres]`.
The sandbox runs under uvicorn in a subprocess on 127.0.0.1, so the worker does not share
its interpreter. Each run records N course completions (N/4 employees, 4 courses), then
times one outbox worker (claim 100, 4 chunks of 10 in flight) until every row is delivered.
A delivery is two or three BambooHR calls (list the employee's records of the type, then
add or update one). Faults are the sandbox's random 503s at the given rate; the worker
retries after 10-50 ms. PostgreSQL is the server named by ASSISTANT_BENCH_POSTGRES_URL
(default: database `test` on 127.0.0.1:5432), in a schema created for the run and dropped
afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from assistant.db import create_db_engine, migrate, session_scope
from assistant.hris.bamboohr.client import BambooHRClient
from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY
from assistant.logging import configure_logging
from assistant.results import outbox
from assistant.results.models import CourseCompletion
from assistant.results.service import record_completion
from assistant.results.targets.bamboohr import BambooHRTarget
from assistant.results.worker import OutboxWorker, RetryPolicy

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COURSES = ("COC-101", "ITSEC-101", "CRM-201", "NEG-201")
POLICY = RetryPolicy(max_attempts=50, max_rejected_attempts=3, base_delay=0.02, max_delay=0.05)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _sandbox() -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "assistant.hris.bamboohr.sandbox:create_bamboohr_sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/_sandbox/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def _engine(database: str) -> Iterator[Engine]:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = create_db_engine(f"sqlite:///{folder}/bench.db")
            migrate(engine)
            yield engine
            engine.dispose()
        return

    base_url = os.environ.get("ASSISTANT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_db_engine(base_url, options=f"-csearch_path={schema}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _prepare(engine: Engine, url: str, results: int) -> None:
    people = results // len(COURSES)
    employees = [
        {"id": str(5000 + number), "firstName": "Bench", "status": "Active"}
        for number in range(people)
    ]
    httpx.post(f"{url}/_sandbox/reset").raise_for_status()
    httpx.post(
        f"{url}/_sandbox/employees", json={"employees": employees, "replace": True}
    ).raise_for_status()
    with session_scope(engine) as session:
        for number in range(people):
            for index, course in enumerate(COURSES):
                completion = CourseCompletion(
                    employee_id=str(5000 + number),
                    course_id=index + 2,
                    course_code=course,
                    course_name=f"Course {course}",
                    completed_at=datetime(2026, 2, 1 + index, 9, tzinfo=UTC),
                    grade=80.0,
                    grade_max=100.0,
                )
                record_completion(session, completion, targets=["bamboohr"])


async def _deliver_all(engine: Engine, url: str, expected: int) -> float:
    async with BambooHRClient(url, DEFAULT_API_KEY, timeout=10.0, max_retries=0) as client:
        worker = OutboxWorker(
            engine, [BambooHRTarget(client)], policy=POLICY, claim_size=100, concurrency=4
        )
        started = time.perf_counter()
        delivered = 0
        while delivered < expected:
            report = await worker.drain()
            delivered += report.delivered
            if report.dead:
                raise RuntimeError(f"{report.dead} rows went dead during the benchmark")
            if delivered < expected:
                await asyncio.sleep(0.01)
        return time.perf_counter() - started


def _run(database: str, url: str, results: int, failure_rate: float) -> None:
    with _engine(database) as engine:
        _prepare(engine, url, results)
        expected = (results // len(COURSES)) * len(COURSES)
        httpx.post(
            f"{url}/_sandbox/faults", json={"failure_rate": failure_rate, "seed": 11}
        ).raise_for_status()
        seconds = asyncio.run(_deliver_all(engine, url, expected))
        stats = httpx.get(f"{url}/_sandbox/stats").json()
        with session_scope(engine) as session:
            counts = outbox.count_by_status(session)

    print(
        f"{database:8} faults {failure_rate:4.0%}  {expected} results in {seconds:6.2f} s = "
        f"{expected / seconds:7.1f} deliveries/s  ({stats.get('requests', 0)} requests, "
        f"{stats.get('faults_injected', 0)} faults, outbox {counts})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000, help="Results to deliver per run.")
    parser.add_argument(
        "--failure-rate", type=float, action="append", help="Share of failed requests; repeat."
    )
    parser.add_argument(
        "--database", choices=("sqlite", "postgres"), action="append", help="Database; repeat."
    )
    args = parser.parse_args()
    rates = args.failure_rate or [0.0, 0.3]
    databases = args.database or ["sqlite"]

    # The client logs every failed call at error level; the injected faults would flood the output.
    configure_logging(level="CRITICAL")
    print(f"os.cpu_count() = {os.cpu_count()}; worker: claim 100, 4 chunks of 10 in flight")
    with _sandbox() as url:
        for database in databases:
            for rate in rates:
                _run(database, url, args.results, rate)


if __name__ == "__main__":
    main()
