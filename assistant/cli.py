"""The `assistant` command line."""

from __future__ import annotations

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
    """Run the API and the pages."""
    from assistant.app import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port, log_config=None)


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


if __name__ == "__main__":
    app()
