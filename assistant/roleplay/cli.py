"""`assistant roleplay`: check scenario files and see which roles they suit."""

from __future__ import annotations

from pathlib import Path

import typer

roleplay_app = typer.Typer(help="Roleplay scenarios.", no_args_is_help=True)


@roleplay_app.command("scenarios")
def list_scenarios(
    folder: Path | None = typer.Option(None, file_okay=False, help="Scenario folder; default: ASSISTANT_ROLEPLAY_SCENARIOS_DIR or the bundled scenarios."),
    department: str | None = typer.Option(None, help="Show only scenarios that suit this department (with --title)."),
    title: str | None = typer.Option(None, help="Show only scenarios that suit this job title (with --department)."),
) -> None:
    """Validate every scenario file and list the scenarios; exit 1 naming the first invalid file."""
    from assistant.config import get_settings
    from assistant.roleplay.scenarios import BUNDLED_SCENARIOS_DIR, ScenarioError, load_scenarios, suitable_scenarios

    directory = folder or get_settings().roleplay_scenarios_dir or BUNDLED_SCENARIOS_DIR
    try:
        scenarios = load_scenarios(directory)
    except ScenarioError as exc:
        typer.echo(f"invalid scenario: {exc.message}", err=True)
        raise typer.Exit(1) from exc

    shown = list(scenarios.values())
    if department is not None or title is not None:
        shown = suitable_scenarios(scenarios, department=department, title=title)
    for scenario in shown:
        criteria = ", ".join(criterion.id for criterion in scenario.rubric.criteria)
        typer.echo(f"{scenario.id} v{scenario.version}: {scenario.title} (pass mark {scenario.rubric.pass_mark:g}; {criteria})")
    typer.echo(f"{len(scenarios)} valid scenario files in {directory}; {len(shown)} shown")
