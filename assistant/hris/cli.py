"""`assistant people ...`: import people from an HR source and show one person; `assistant sandbox bamboohr`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

people_app = typer.Typer(help="Import people from HR and look them up.", no_args_is_help=True)

LOOPBACK = "127.0.0.1"


def _settings() -> Any:
    """Read the settings and send log lines to stderr, so that stdout carries only the report."""
    from assistant.config import get_settings
    from assistant.logging import configure_logging

    settings = get_settings()
    configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
    return settings


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


@people_app.command("import")
def import_people(
    source: str = typer.Option(..., help="Source name in the mapping: 'bamboohr', or a CSV source such as 'csv'."),
    file: Path | None = typer.Option(None, "--file", help="CSV export to read; required for CSV sources."),
    mapping: Path | None = typer.Option(None, help="Mapping YAML file; defaults to ASSISTANT_MAPPING_FILE, then the built-in mapping."),
    full: bool = typer.Option(False, "--full", help="BambooHR only: pull everyone even when a cursor is stored."),
    force: bool = typer.Option(False, "--force", help="Mark leavers even above ASSISTANT_MAX_SUSPEND_SHARE of the active people."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Upsert people from a CSV export or BambooHR and print what changed, what was rejected and why."""
    from assistant.errors import AssistantError
    from assistant.people.mapping import load_mapping

    settings = _settings()
    try:
        config = load_mapping(mapping or settings.mapping_file)
        config.source(source)
        report = _run_import(settings, config, source=source, file=file, full=full, force=force)
    except AssistantError as exc:
        raise _fail(exc.message) from None

    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _print_report(report)


def _run_import(settings: Any, config: Any, *, source: str, file: Path | None, full: bool, force: bool) -> Any:
    import asyncio

    from sqlmodel import Session, select

    from assistant.db import create_db_engine, migrate, session_scope
    from assistant.hris.service import get_cursor, import_batch, save_cursor, source_fields
    from assistant.people.models import Person

    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    with Session(engine) as session:
        known_ids = set(session.exec(select(Person.employee_id)))
        cursor = None if full else get_cursor(session, source)

    batch, always = asyncio.run(_fetch(settings, config, source=source, file=file, cursor=cursor, known_ids=known_ids))
    fields = source_fields(config.source(source), always=always)
    with session_scope(engine) as session:
        report = import_batch(
            session, batch, source=source, fields=fields, max_leaver_share=settings.max_suspend_share, force=force
        )
        save_cursor(session, source, batch.cursor, run_id=report.run_id)
    engine.dispose()
    return report


async def _fetch(
    settings: Any, config: Any, *, source: str, file: Path | None, cursor: str | None, known_ids: set[str]
) -> tuple[Any, tuple[str, ...]]:
    """Pull from the source; return the batch and the fields the source sets besides its mapped ones."""
    from assistant.errors import InvalidInput

    if source == "bamboohr":
        from assistant.hris.bamboohr.client import BambooHRClient
        from assistant.hris.bamboohr.source import BambooHRSource

        if file is not None:
            raise InvalidInput("--file applies to CSV sources; BambooHR is read through its API")
        if not settings.bamboohr_url:
            raise InvalidInput("ASSISTANT_BAMBOOHR_URL is not set; set it to https://<company>.bamboohr.com")
        async with BambooHRClient.from_settings(settings) as client:
            bamboohr = BambooHRSource(client, config, known_employee_ids=known_ids)
            return await bamboohr.fetch_changed(cursor), ("extra",)

    from assistant.hris.csv_source import CsvSource

    if file is None:
        raise InvalidInput(f"--file is required for the CSV source {source!r}")
    return await CsvSource(file, config, name=source, known_employee_ids=known_ids).fetch_people(), ()


def _print_report(report: Any) -> None:
    counts = report.counts()
    typer.echo(f"source {report.source}, run {report.run_id}")
    typer.echo(
        f"created {counts['created']}, updated {counts['updated']}, unchanged {counts['unchanged']}, "
        f"marked as leavers {counts['marked_leavers']}, rejected {counts['rejected']}, warnings {counts['warnings']}"
    )
    for rejected in report.rejected:
        who = f" (employee ID {rejected.employee_id})" if rejected.employee_id else ""
        typer.echo(f"rejected row {rejected.row}{who}: {rejected.reason}")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}")
    if report.cursor:
        typer.echo(f"next incremental pull starts at {report.cursor}")


@people_app.command("show")
def show_person(
    employee_id: str = typer.Argument(..., help="Employee ID, exactly as HR writes it (leading zeros count)."),
    as_json: bool = typer.Option(False, "--json", help="Print the person and history as JSON."),
) -> None:
    """Print one person's record and the history of their changes."""
    from sqlmodel import Session

    from assistant.db import create_db_engine, migrate
    from assistant.people.schemas import PersonChangeRead, PersonRead
    from assistant.people.service import get_person, history

    engine = create_db_engine(_settings().resolved_database_url)
    migrate(engine)
    with Session(engine) as session:
        person = get_person(session, employee_id)
        if person is None:
            raise _fail(f"no person with employee ID {employee_id!r}; check the ID, including leading zeros")
        record = PersonRead.model_validate(person).model_dump(mode="json")
        changes = [PersonChangeRead.model_validate(change).model_dump(mode="json") for change in history(session, employee_id)]
    engine.dispose()

    if as_json:
        typer.echo(json.dumps({"person": record, "history": changes}, indent=2, ensure_ascii=False))
        return

    for name, value in record.items():
        typer.echo(f"{name}: {value if value is not None else ''}")
    typer.echo("history:")
    for change in changes:
        typer.echo(f"  {change['changed_at']} {change['field']}: {change['before']!r} -> {change['after']!r} ({change['source']})")


def bamboohr_sandbox(
    port: int = typer.Option(8081, help="TCP port to listen on, on 127.0.0.1."),
    api_key: str = typer.Option("sandbox-key", help="API key the sandbox accepts as the Basic-auth user name."),
    roster: Path | None = typer.Option(None, help="JSON file with an 'employees' list; defaults to the bundled invented roster."),
    admin: bool = typer.Option(True, help="Whether the key has access to training settings (training types)."),
) -> None:
    """Run the BambooHR sandbox on loopback."""
    import uvicorn

    from assistant.hris.bamboohr.sandbox import create_bamboohr_sandbox

    employees = None
    if roster is not None:
        try:
            employees = json.loads(roster.read_text(encoding="utf-8"))["employees"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _fail(f"cannot read the roster {roster}: it must be JSON with an 'employees' list ({exc})") from None

    app = create_bamboohr_sandbox(api_key=api_key, employees=employees, admin=admin)
    typer.echo(f"BambooHR sandbox on http://{LOOPBACK}:{port} (set ASSISTANT_BAMBOOHR_URL to this URL)")
    uvicorn.run(app, host=LOOPBACK, port=port, log_level="warning")
