"""`assistant tokens`: create, list and revoke API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

tokens_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


def _engine() -> Engine:
    from assistant.config import get_settings
    from assistant.db import create_db_engine, migrate

    engine = create_db_engine(get_settings().resolved_database_url)
    migrate(engine)
    return engine


@tokens_app.command("create")
def create(
    role: str = typer.Option(..., help="Role of the token: admin, provisioning, manager or learner."),
    employee_id: str = typer.Option(..., help="Employee ID the token acts as; managers and learners are scoped to it."),
    name: str = typer.Option("", help="Label that tells the token apart in `assistant tokens list`."),
) -> None:
    """Create a token and print it once; only its SHA-256 hash is stored."""
    from assistant.auth.service import create_token, parse_role
    from assistant.db import session_scope
    from assistant.errors import InvalidInput

    try:
        parsed_role = parse_role(role)
        with session_scope(_engine()) as session:
            token, raw_token = create_token(session, role=parsed_role, employee_id=employee_id, name=name)
            token_id = token.id
    except InvalidInput as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from exc

    typer.echo(f"Created token {token_id} ({parsed_role.value}, employee {employee_id.strip()}).")
    typer.echo("Copy it now; it is not shown again:")
    typer.echo(raw_token)


@tokens_app.command("list")
def list_command(
    include_revoked: bool = typer.Option(False, "--all", help="Also list revoked tokens."),
) -> None:
    """List tokens with their id, role, employee ID, name and prefix; never the token itself."""
    from assistant.auth.service import list_tokens
    from assistant.db import session_scope

    with session_scope(_engine()) as session:
        tokens = list_tokens(session, include_revoked=include_revoked)

    if not tokens:
        typer.echo("No tokens.")
        return
    typer.echo(f"{'id':>4}  {'role':<12}  {'employee':<12}  {'prefix':<14}  {'last used':<20}  {'revoked':<20}  name")
    for token in tokens:
        last_used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "-"
        revoked = token.revoked_at.strftime("%Y-%m-%d %H:%M") if token.revoked_at else "-"
        typer.echo(
            f"{token.id:>4}  {token.role:<12}  {token.employee_id:<12}  {token.prefix + '…':<14}  "
            f"{last_used:<20}  {revoked:<20}  {token.name}"
        )


@tokens_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="Id of the token, as `assistant tokens list` shows it.")) -> None:
    """Revoke a token; requests that present it get 401 from then on."""
    from assistant.auth.service import revoke_token
    from assistant.db import session_scope
    from assistant.errors import NotFound

    try:
        with session_scope(_engine()) as session:
            revoke_token(session, token_id)
    except NotFound as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"Revoked token {token_id}.")
