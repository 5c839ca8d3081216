"""Run the demo: start the sandboxes, run one cycle, print a summary, then serve the pages."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import threading
import time

from assistant.app import create_app
from assistant.db import create_db_engine, migrate
from assistant.demo.cycle import (
    DemoOptions,
    DemoSummary,
    Say,
    build_paths,
    demo_settings,
    practise_roleplay,
    provision,
    simulate_learning,
    write_back,
)
from assistant.demo.sandboxes import load_coursera_catalogue, start_sandboxes
from assistant.errors import InvalidInput
from assistant.logging import configure_logging
from assistant.moodle.client import MoodleClient
from assistant.servers import LOOPBACK, BackgroundServer


def run_demo(options: DemoOptions, *, say: Say, serve: bool, coursera: object | None = None, course_limit: int | None = None) -> DemoSummary:
    """Run one cycle; with `serve`, keep the service and the sandboxes up until Ctrl-C."""
    configure_logging(log_format="console", level="WARNING")
    _check_port_free(options.port)
    _fresh_data_dir(options)
    sandboxes = start_sandboxes()
    say(f"Moodle sandbox on {sandboxes.moodle.url}, BambooHR sandbox on {sandboxes.bamboohr.url}")

    if coursera is not None:
        options.catalogue = options.data_dir / "coursera-catalogue.yaml"
        added = load_coursera_catalogue(sandboxes, coursera, options.catalogue, limit=course_limit)  # type: ignore[arg-type]
        say(f"Loaded {added} Coursera courses into the Moodle sandbox")

    settings = demo_settings(options, sandboxes)
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    server = BackgroundServer(create_app(settings, engine=engine), port=options.port).start()
    started = time.monotonic()
    try:
        summary = asyncio.run(_cycle(settings, engine, sandboxes, server.url, options, say))
        say(_render_summary(summary, seconds=time.monotonic() - started))
        if serve:
            say(f"\nPages: {server.url}/auth/dev (demo sign-in: pick any employee). API schema: {server.url}/openapi.json")
            say("Press Ctrl-C to stop.")
            _wait_for_interrupt()
        return summary
    finally:
        server.stop()
        sandboxes.stop()
        engine.dispose()


async def _cycle(settings, engine, sandboxes, app_url: str, options: DemoOptions, say: Say) -> DemoSummary:  # type: ignore[no-untyped-def]
    summary = DemoSummary()
    async with MoodleClient.from_settings(settings) as moodle:
        await provision(settings, engine, moodle, options, say, summary)
        employee_ids = await build_paths(settings, engine, moodle, say, summary)
        await simulate_learning(settings, engine, moodle, employee_ids, options, say, summary)
    await practise_roleplay(app_url, engine, employee_ids, say, summary)
    await write_back(settings, engine, sandboxes, say, summary)
    return summary


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            raise InvalidInput(f"port {port} on {LOOPBACK} is in use; pass another with --port") from None


def _fresh_data_dir(options: DemoOptions) -> None:
    # The demo starts from nothing every time; it only ever removes its own folder.
    if options.data_dir.exists():
        shutil.rmtree(options.data_dir)
    options.data_dir.mkdir(parents=True)


def _render_summary(summary: DemoSummary, *, seconds: float) -> str:
    accounts = ", ".join(f"{count} {action}" for action, count in summary.provisioned.items()) or "none"
    roleplay = summary.roleplay
    lines = [
        f"\nSummary ({seconds:.1f} s)",
        f"  Moodle accounts: {accounts} (skip = a leaver who never had an account)",
        f"  HR rows rejected: {summary.rejected_rows}",
        f"  courses in the catalogue: {summary.catalogue_courses}",
        f"  paths built: {summary.paths_built} ({summary.path_failures} failed), enrolments: {summary.enrolments}",
        f"  learning simulated: {summary.learning_events} events, paths re-planned: {summary.replanned}",
        f"  roleplay: {roleplay.get('employee_id', '-')} scored {roleplay.get('score', '-')}, "
        f"{'passed' if roleplay.get('passed') else 'not passed'}",
        f"  results collected: {summary.completions_collected} completions, {summary.roleplay_results} roleplay scores",
        f"  delivered to HR: {summary.delivered} ({summary.dead_letters} dead letters); "
        f"BambooHR training records: {summary.training_records}",
    ]
    return "\n".join(lines)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
