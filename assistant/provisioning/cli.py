"""`assistant sync`: import people from an HR source and mirror them into Moodle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assistant.config import Settings, get_settings

if TYPE_CHECKING:
    from assistant.hris.source import HRSource
    from assistant.people.mapping import MappingConfig
    from assistant.provisioning.schemas import RunReport

# Exit codes besides 0 (applied, or previewed): 1 for an error or failed items, 2 for a run the guard rejected.
EXIT_FAILED = 1
EXIT_REJECTED = 2


class SourceKind(StrEnum):
    CSV = "csv"
    BAMBOOHR = "bamboohr"


def sync(
    source: SourceKind = typer.Option(..., "--source", help="HR source to read: csv (needs --file) or bamboohr (uses ASSISTANT_BAMBOOHR_*)."),
    file: Path | None = typer.Option(None, "--file", help="CSV export to read, for --source csv."),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="Mapping YAML file; defaults to ASSISTANT_MAPPING_FILE, then to the built-in mapping."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the changes without writing to Moodle or the people table."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON instead of a readable diff."),
    force: bool = typer.Option(False, "--force", help="Apply even when the guard rejects the run (empty or truncated source, too many suspensions)."),
) -> None:
    """Import people from HR, plan their Moodle accounts and apply the plan (or preview it with --dry-run)."""
    from assistant.errors import AssistantError
    from assistant.logging import configure_logging

    settings = get_settings()
    # Logs go to stderr, so that stdout carries only the report (and valid JSON with --json).
    configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
    try:
        report = asyncio.run(_sync(settings, source, file=file, mapping_path=mapping, dry_run=dry_run, force=force))
    except (AssistantError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'message', None) or exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None

    _print(report, json_output=json_output)
    raise typer.Exit(_exit_code(report))


async def _sync(
    settings: Settings,
    source: SourceKind,
    *,
    file: Path | None,
    mapping_path: Path | None,
    dry_run: bool,
    force: bool,
) -> RunReport:
    from assistant.db import create_db_engine, migrate
    from assistant.moodle.client import MoodleClient
    from assistant.people.mapping import load_mapping
    from assistant.provisioning.service import run_sync

    config = load_mapping(mapping_path or settings.mapping_file)
    engine = create_db_engine(settings.resolved_database_url)
    try:
        migrate(engine)
        async with _open_source(settings, source, file=file, mapping=config) as hr_source, MoodleClient.from_settings(settings) as client:
            return await run_sync(engine, client, hr_source, mapping=config, dry_run=dry_run, force=force)
    finally:
        engine.dispose()


@asynccontextmanager
async def _open_source(settings: Settings, source: SourceKind, *, file: Path | None, mapping: MappingConfig) -> AsyncIterator[HRSource]:
    from assistant.errors import InvalidInput

    if source is SourceKind.CSV:
        from assistant.hris.csv_source import CsvSource

        if file is None:
            raise InvalidInput("--source csv needs --file with the path of the CSV export")
        yield CsvSource(file, mapping, name="csv")
        return

    if file is not None:
        raise InvalidInput("--file is only for --source csv; BambooHR is read with the ASSISTANT_BAMBOOHR_* settings")
    from assistant.provisioning.sources import open_bamboohr_source

    async with open_bamboohr_source(settings, mapping) as bamboohr:
        yield bamboohr


def _print(report: RunReport, *, json_output: bool) -> None:
    from assistant.provisioning.render import render_report

    if json_output:
        typer.echo(report.model_dump_json(indent=2))
        return
    typer.echo(render_report(report), nl=False)


def _exit_code(report: RunReport) -> int:
    if report.status == "refused":
        return EXIT_REJECTED
    if report.status in ("partial", "failed"):
        return EXIT_FAILED
    return 0
