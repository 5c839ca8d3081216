"""The `assistant` command line."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn

from assistant.config import get_settings

app = typer.Typer(help="HR to Moodle provisioning, learning paths and roleplay practice.", no_args_is_help=True)
sandbox_app = typer.Typer(help="Run a sandbox of an external system on loopback.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")

LOOPBACK = "127.0.0.1"


@app.command()
def serve(
    host: str = typer.Option(LOOPBACK, help="Address to listen on."),
    port: int = typer.Option(8000, help="TCP port to listen on."),
) -> None:
    """Run the API, the pages and the scheduler (ASSISTANT_SCHEDULE_* intervals)."""
    from assistant.app import create_app

    uvicorn.run(create_app(get_settings(), run_schedule=True), host=host, port=port, log_config=None)


def _register_jobs_commands() -> None:
    from assistant.jobs.cli import jobs_app, worker

    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")


_register_jobs_commands()

from assistant.results.cli import report_app, results_app  # noqa: E402

app.add_typer(results_app, name="results")
app.add_typer(report_app, name="report")

from assistant.hris.cli import bamboohr_sandbox, people_app  # noqa: E402

app.add_typer(people_app, name="people")
sandbox_app.command("bamboohr")(bamboohr_sandbox)

from assistant.moodle.cli import moodle_app, moodle_sandbox  # noqa: E402

app.add_typer(moodle_app, name="moodle")
sandbox_app.command("moodle")(moodle_sandbox)

from assistant.auth.cli import tokens_app  # noqa: E402

app.add_typer(tokens_app, name="tokens")

from assistant.provisioning.cli import sync as sync_command  # noqa: E402

app.command("sync")(sync_command)

from assistant.paths.cli import paths_app  # noqa: E402

app.add_typer(paths_app, name="paths")

from assistant.roleplay.cli import roleplay_app  # noqa: E402

app.add_typer(roleplay_app, name="roleplay")



@app.command()
def demo(
    port: int = typer.Option(8000, help="TCP port of the service on 127.0.0.1."),
    serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving the pages after the cycle."),
    data_dir: Path = typer.Option(Path("var/demo"), help="Folder for the demo's database and files; emptied first."),
    roster: Path | None = typer.Option(None, exists=True, dir_okay=False, help="HR CSV export to use instead of the BambooHR sandbox."),
    mapping: Path | None = typer.Option(None, exists=True, dir_okay=False, help="Mapping file for --roster (see docs/mapping.md)."),
    coursera: Path | None = typer.Option(None, exists=True, dir_okay=False, help="Coursera catalogue CSV to load into the Moodle sandbox."),
    courses: int | None = typer.Option(None, min=1, help="Load only the first N Coursera courses."),
) -> None:
    """Run one full cycle on the embedded defaults against the Moodle and BambooHR sandboxes."""
    from assistant.demo.cycle import DemoOptions
    from assistant.demo.runner import run_demo

    options = DemoOptions(data_dir=data_dir, port=port, roster=roster, mapping=mapping)
    run_demo(options, say=typer.echo, serve=serve_after, coursera=coursera, course_limit=courses)



def main() -> None:
    """Run the command line; print known errors as one line and exit 2 instead of a traceback."""
    from pydantic import ValidationError

    from assistant.config import PlaceholderSecretError, describe_settings_error
    from assistant.errors import AssistantError

    try:
        app()
    except ValidationError as exc:
        message = describe_settings_error(exc) if exc.title == "Settings" else f"invalid input: {exc.error_count()} error(s)"
        typer.echo(message, err=True)
        raise SystemExit(2) from None
    except (AssistantError, PlaceholderSecretError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
