"""Measure creating users and enrolling each in 3 courses through the Moodle client.

Run with `python -m benchmarks.moodle_users [--users N] [--batch-sizes 1,100]`.
The Moodle sandbox runs under uvicorn in a subprocess on 127.0.0.1, so that the client
does not share its interpreter. For each batch size the script resets the sandbox,
creates the users, enrols every user in courses 2, 3 and 6, and prints the web
service calls made, the wall time and users per second, and the machine's CPU count.
The sandbox spends well under a millisecond of work per call, so the figures
measure the client and HTTP overhead; a real Moodle spends about 24 ms per call
before doing any work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from assistant.logging import configure_logging
from assistant.moodle.client import MoodleClient
from assistant.moodle.sandbox import DEFAULT_TOKEN
from assistant.moodle.schemas import Enrolment, UserCreate

COURSE_IDS = (2, 3, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="Users to create and enrol.")
    parser.add_argument("--batch-sizes", default="1,100", help="Comma-separated client batch sizes to measure.")
    parser.add_argument("--concurrency", type=int, default=4, help="Client calls in flight at once.")
    args = parser.parse_args()
    # One debug line per call would cost more than the calls themselves.
    configure_logging(level="WARNING")

    print(f"cpu_count={os.cpu_count()} users={args.users} courses_per_user={len(COURSE_IDS)} concurrency={args.concurrency}")
    with _serve_sandbox() as url:
        for batch_size in (int(size) for size in args.batch_sizes.split(",")):
            asyncio.run(_measure(url, users=args.users, batch_size=batch_size, concurrency=args.concurrency))


async def _measure(url: str, *, users: int, batch_size: int, concurrency: int) -> None:
    async with httpx.AsyncClient(timeout=300) as admin:
        await admin.post(f"{url}/_sandbox/reset")

        async with MoodleClient(url, DEFAULT_TOKEN, batch_size=batch_size, max_concurrency=concurrency, timeout=300) as client:
            started = time.perf_counter()
            created = await client.create_users([_user(number) for number in range(users)])
            created_at = time.perf_counter()
            enrolments = [Enrolment(user_id=user.id, course_id=course) for user in created.succeeded for course in COURSE_IDS]
            enrolled = await client.enrol_users(enrolments)
            finished = time.perf_counter()

        stats = (await admin.get(f"{url}/_sandbox/stats")).json()

    failures = len(created.failed) + len(enrolled.failed)
    print(
        f"batch_size={batch_size} calls={stats['total']} "
        f"create_s={created_at - started:.2f} enrol_s={finished - created_at:.2f} wall_s={finished - started:.2f} "
        f"users_per_s={users / (finished - started):.0f} enrolments_per_s={len(enrolments) / (finished - created_at):.0f} "
        f"failures={failures}"
    )


def _user(number: int) -> UserCreate:
    return UserCreate(
        username=f"bench.user{number}",
        firstname="Bench",
        lastname=f"User{number}",
        email=f"bench.user{number}@example.invalid",
        password="Bench#2024x",
        idnumber=f"BENCH-{number:05d}",
        customfields={"employeeid": f"B{number:05d}"},
    )


@contextmanager
def _serve_sandbox() -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "assistant.moodle.sandbox.app:create_sandbox_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Moodle sandbox exited with code {process.returncode}")
        try:
            httpx.get(f"{url}/_sandbox/stats", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the Moodle sandbox on {url} did not start within 30 s")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
