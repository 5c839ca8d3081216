"""Measure SCIM create and PATCH throughput with 16 concurrent clients, on SQLite and PostgreSQL.

Run with `python -m benchmarks.scim [--users N] [--clients N] [--database sqlite|postgres|both]`.
The service runs under uvicorn in a subprocess on 127.0.0.1 (one worker, the way
`assistant` serves), so that the load generator does not share its interpreter.
Moodle is not configured, so
the figures cover the SCIM protocol, the SQL writes and the person-record upsert, not
the Moodle sync that follows in the background. PostgreSQL is the server named by
ASSISTANT_BENCH_POSTGRES_URL (default: database `test` on 127.0.0.1:5432), in a schema
created for the run and dropped afterwards. The script prints requests per second,
latency percentiles and the machine's CPU count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text

from assistant.db import create_db_engine

TOKEN = "benchmark-scim-token"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400, help="Users to create, then to PATCH once each.")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent HTTP clients.")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()

    print(f"cpu_count={os.cpu_count()} users={args.users} clients={args.clients}")
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for database in databases:
        with _database_url(database) as url:
            if url is None:
                print(f"{database}: skipped, server not reachable")
                continue
            asyncio.run(_measure(database, url, users=args.users, clients=args.clients))


async def _measure(database: str, url: str, *, users: int, clients: int) -> None:
    with _serve(url) as base_url:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=f"{base_url}/scim/v2", headers=headers, limits=limits, timeout=60) as client:
            ids: list[str] = []
            create = await _run(clients, users, lambda index: _create(client, index, ids))
            patch = await _run(clients, users, lambda index: _patch(client, ids[index]))

    _report(database, "create", create)
    _report(database, "patch", patch)


async def _create(client: httpx.AsyncClient, index: int, ids: list[str]) -> None:
    user_name = f"bench.{index}.{uuid.uuid4().hex[:8]}@example.test"
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
        "userName": user_name,
        "name": {"givenName": "Bench", "familyName": f"User {index}"},
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": f"B{index:06d}", "department": "Benchmark"},
    }
    response = await client.post("/Users", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /Users returned {response.status_code}: {response.text[:200]}")
    ids.append(response.json()["id"])


async def _patch(client: httpx.AsyncClient, user_id: str) -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "title", "value": "Benchmarked"},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    }
    response = await client.patch(f"/Users/{user_id}", json=body)
    if response.status_code != 200:
        raise RuntimeError(f"PATCH /Users/{user_id} returned {response.status_code}: {response.text[:200]}")


async def _run(clients: int, requests: int, send: Callable[[int], Awaitable[None]]) -> tuple[float, list[float]]:
    """Send `requests` requests from `clients` workers; return the wall time and each latency, in seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            await send(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies


def _report(database: str, operation: str, measured: tuple[float, list[float]]) -> None:
    wall, latencies = measured
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    print(
        f"{database:8} {operation:6} {len(latencies) / wall:7.1f} req/s"
        f"  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({len(latencies)} requests in {wall:.2f} s)"
    )


@contextmanager
def _database_url(database: str) -> Iterator[str | None]:
    """Yield a SQLAlchemy URL for an empty database, or None when PostgreSQL is not reachable."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return

    url = os.environ.get("ASSISTANT_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # noqa: BLE001 - any connection failure means "not reachable"
        admin.dispose()
        yield None
        return

    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _serve(database_url: str) -> Iterator[str]:
    """Run `uvicorn --factory assistant.app:create_app` on a free loopback port until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "ASSISTANT_SCIM_TOKEN": TOKEN,
        "ASSISTANT_DATABASE_URL": database_url,
        "ASSISTANT_MOODLE_URL": "",
        "ASSISTANT_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "assistant.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=environment)
    try:
        _wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with code {server.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not listen on 127.0.0.1:{port} within 60 s")


if __name__ == "__main__":
    main()
