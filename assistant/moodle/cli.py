"""`assistant moodle check` and `assistant sandbox moodle`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

moodle_app = typer.Typer(help="Check the connection to Moodle.", no_args_is_help=True)

# Exit codes of `assistant moodle check`.
EXIT_MISSING_FUNCTIONS = 1
EXIT_UNUSABLE = 2


@moodle_app.command("check")
def check(
    url: str = typer.Option("", help="Moodle site root, such as https://moodle.example.org; defaults to ASSISTANT_MOODLE_URL."),
    token: str = typer.Option("", help="Web service token; defaults to ASSISTANT_MOODLE_TOKEN."),
) -> None:
    """Print the site name, release and version, and every required function the token cannot call.

    Exits 1 when a function is missing, and 2 when the site is unreachable or the token is invalid.
    """
    from assistant.config import get_settings
    from assistant.logging import configure_logging

    settings = get_settings()
    configure_logging(log_format=settings.resolved_log_format, level=settings.log_level)
    url = url or settings.moodle_url
    token = token or settings.moodle_token.get_secret_value()
    if not url:
        typer.echo("No Moodle URL: pass --url or set ASSISTANT_MOODLE_URL.", err=True)
        raise typer.Exit(EXIT_UNUSABLE)

    raise typer.Exit(asyncio.run(_check(url, token, timeout=settings.moodle_timeout)))


async def _check(url: str, token: str, *, timeout: float) -> int:
    from assistant.moodle.client import REQUIRED_FUNCTIONS, MoodleClient
    from assistant.moodle.exceptions import MoodleError

    try:
        async with MoodleClient(url, token, timeout=timeout, max_retries=1) as client:
            info = await client.get_site_info()
    except (ValueError, MoodleError) as exc:
        typer.echo(f"Moodle check failed for {url}: {exc}", err=True)
        return EXIT_UNUSABLE

    typer.echo(f"Site:     {info.sitename}")
    typer.echo(f"Release:  {info.release}")
    typer.echo(f"Version:  {info.version}")
    missing = [function for function in REQUIRED_FUNCTIONS if function not in info.function_names]
    if not missing:
        typer.echo(f"Functions: the token can call all {len(REQUIRED_FUNCTIONS)} required functions.")
        return 0

    typer.echo(f"Missing functions ({len(missing)}); ask the Moodle administrator to add them to the token's external service:")
    for function in missing:
        typer.echo(f"  - {function}")
    return EXIT_MISSING_FUNCTIONS


def moodle_sandbox(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8088, help="TCP port to listen on."),
    debug: bool = typer.Option(False, "--debug", help="Add debuginfo to errors and use Moodle's debug-mode error codes."),
    fixture: Path | None = typer.Option(None, help="JSON fixture to seed the site with; defaults to the bundled one."),
    token: str = typer.Option("", help="Integration web service token; defaults to the fixture's token."),
    admin: bool = typer.Option(True, help="Serve the /_sandbox/ admin interface (reset, faults, cron)."),
) -> None:
    """Run an in-memory Moodle that serves Moodle's REST web services."""
    import uvicorn

    from assistant.moodle.sandbox import DEFAULT_TOKEN, create_sandbox_app

    app = create_sandbox_app(fixture=fixture, token=token or DEFAULT_TOKEN, debug=debug, admin=admin)
    typer.echo(f"Moodle sandbox on http://{host}:{port} (token {'set by --token' if token else DEFAULT_TOKEN})")
    uvicorn.run(app, host=host, port=port, log_level="warning")
