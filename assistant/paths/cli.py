"""`assistant paths ...`: check the catalogue file, sync the catalogue from Moodle, build a path."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

paths_app = typer.Typer(help="Learning paths: catalogue file, catalogue sync and path builds.", no_args_is_help=True)


@paths_app.command("check-config")
def check_config(
    file: Path = typer.Argument(..., help="Catalogue YAML file to validate.", exists=False),
) -> None:
    """Validate a catalogue file and list what it configures."""
    from assistant.paths.catalogue import CatalogueConfigError, load_catalogue_config, unlisted_references

    try:
        config = load_catalogue_config(file)
    except CatalogueConfigError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{file}: {len(config.courses)} courses, {len(config.mandatory)} mandatory rules, "
        f"{len(config.roles)} roles, O*NET {'from ' + str(config.onet.directory) if config.onet else 'off'}"
    )
    for note in unlisted_references(config):
        typer.echo(f"warning: {note}")


@paths_app.command("sync-catalogue")
def sync_catalogue_command() -> None:
    """Read the courses from Moodle, merge the catalogue file and update the index."""
    from assistant.config import get_settings
    from assistant.db import create_db_engine, migrate, session_scope
    from assistant.paths.engine import path_engine_for
    from assistant.paths.sync import sync_catalogue
    from assistant.paths.tasks import moodle_client_for

    settings = get_settings()
    moodle = moodle_client_for(settings)
    if moodle is None:
        typer.echo("ASSISTANT_MOODLE_URL is not set; nothing to sync from", err=True)
        raise typer.Exit(1)
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    paths = path_engine_for(settings, engine)

    async def run() -> None:
        async with moodle:
            with session_scope(engine) as session:
                report = await sync_catalogue(session, paths, moodle)
        typer.echo(
            f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
            f"unchanged {report.unchanged}"
        )
        if report.unknown_in_config:
            typer.echo(f"in the catalogue file but not in Moodle: {', '.join(report.unknown_in_config)}")

    asyncio.run(run())


@paths_app.command("build")
def build_command(
    employee_ids: list[str] = typer.Argument(..., help="Employee IDs to build paths for."),
    enrol: bool = typer.Option(False, help="Enrol the current stage of each path in Moodle."),
) -> None:
    """Build (or re-plan) the paths of the given employees and print each outcome."""
    from assistant.config import get_settings
    from assistant.db import create_db_engine, migrate
    from assistant.paths.engine import path_engine_for
    from assistant.paths.tasks import create_request, moodle_client_for, process_request

    settings = get_settings()
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    paths = path_engine_for(settings, engine)
    moodle = moodle_client_for(settings) if enrol else None

    async def run() -> None:
        request = create_request(engine, employee_ids, enrol=enrol)
        try:
            finished = await process_request(engine, paths, request.id, moodle=moodle)
        finally:
            if moodle is not None:
                await moodle.aclose()
        for employee_id, outcome in finished.outcomes.items():
            detail = outcome.get("error") or f"path {outcome.get('path_id')} version {outcome.get('version')}"
            typer.echo(f"{employee_id}: {outcome['status']} ({detail})")

    asyncio.run(run())
