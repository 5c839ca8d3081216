"""`assistant results ...` and `assistant report compliance`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from assistant.config import get_settings

results_app = typer.Typer(help="Collect results and deliver them to HR.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for HR.", no_args_is_help=True)


def _engine():  # type: ignore[no-untyped-def]
    from assistant.db import create_db_engine, migrate
    from assistant.logging import configure_logging

    settings = get_settings()
    configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
    engine = create_db_engine(settings.resolved_database_url)
    migrate(engine)
    return engine


@results_app.command()
def collect(
    employee_id: list[str] = typer.Option(
        None, "--employee-id", help="Collect only this person; repeat for several."
    ),
    roleplay: bool = typer.Option(True, help="Also record scored roleplay attempts."),
) -> None:
    """Read completions and grades from Moodle (and roleplay scores) into the outbox."""
    from assistant.results.catalogue_rules import load_course_rules
    from assistant.results.tasks import collect_moodle_results, collect_roleplay_results

    settings = get_settings()
    engine = _engine()
    rules = load_course_rules(settings) if settings.catalogue_file else None
    report = asyncio.run(
        collect_moodle_results(settings, engine, rules=rules, employee_ids=employee_id or None)
    )
    typer.echo(
        f"people {report.people}, courses read {report.courses_read}, skipped {report.courses_skipped}, "
        f"completions recorded {report.completions_recorded}, errors {report.errors} (run {report.run_id})"
    )
    if roleplay:
        typer.echo(f"roleplay attempts recorded {collect_roleplay_results(settings, engine)}")


@results_app.command()
def deliver(
    once: bool = typer.Option(False, "--once", help="Stop when no row is due instead of polling."),
    lease_seconds: float = typer.Option(
        300.0, help="Seconds a claimed row stays leased to this worker."
    ),
) -> None:
    """Deliver outbox rows to the configured targets."""
    from assistant.results.tasks import deliver_outbox

    settings = get_settings()
    engine = _engine()
    report = asyncio.run(deliver_outbox(settings, engine, once=once, lease_seconds=lease_seconds))
    typer.echo(
        f"claimed {report.claimed}, delivered {report.delivered}, retry later {report.retried}, dead {report.dead}"
    )


@results_app.command("dead-letters")
def dead_letters(limit: int = typer.Option(100, help="Maximum rows to list.")) -> None:
    """List outbox rows that stopped retrying, with their last error."""
    from assistant.db import session_scope
    from assistant.results import outbox
    from assistant.results.models import OutboxStatus

    with session_scope(_engine()) as session:
        items = outbox.list_items(session, status=OutboxStatus.DEAD, limit=limit)
    if not items:
        typer.echo("no dead letters")
        return
    for item in items:
        typer.echo(
            f"{item.id}\t{item.target}\t{item.idempotency_key}\tattempts={item.attempts}\t{item.last_error}"
        )


@results_app.command()
def retry(
    item_id: int = typer.Argument(None, help="Id of the outbox row, as dead-letters lists it."),
    all_dead: bool = typer.Option(False, "--all", help="Retry every dead letter."),
) -> None:
    """Make dead letters due again with a fresh attempt budget."""
    from assistant.db import session_scope
    from assistant.errors import AssistantError
    from assistant.results import outbox

    if (item_id is None) == (not all_dead):
        raise typer.BadParameter("give either an outbox row id or --all")
    try:
        with session_scope(_engine()) as session:
            if all_dead:
                count = outbox.retry_all_dead(session)
            else:
                outbox.retry(session, item_id)
                count = 1
    except AssistantError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{count} row(s) due for delivery again")


@report_app.command()
def compliance(
    out: Path = typer.Option(
        None, "--out", help="Write the CSV to this file instead of standard output."
    ),
    department: str = typer.Option(None, help="Only this department (case-insensitive)."),
    manager: str = typer.Option(
        None, help="Only this manager's direct and indirect reports (employee ID)."
    ),
) -> None:
    """Write the compliance report on mandatory courses as CSV."""
    from assistant.db import session_scope
    from assistant.errors import AssistantError
    from assistant.results.catalogue_rules import load_course_rules
    from assistant.results.compliance import compliance_csv, compliance_report

    try:
        rules = load_course_rules(get_settings())
        with session_scope(_engine()) as session:
            report = compliance_report(
                session, rules, department=department, manager_employee_id=manager
            )
    except AssistantError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc

    text = compliance_csv(report)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8", newline="")
    typer.echo(f"wrote {len(report.rows)} rows to {out}")
