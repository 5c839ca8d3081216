"""`assistant roleplay scenarios`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app

runner = CliRunner()


def test_scenarios_lists_valid_files() -> None:
    result = runner.invoke(app, ["roleplay", "scenarios", "--department", "IT/IS", "--title", "IT Support"])

    assert result.exit_code == 0, result.output
    assert "unhappy-customer v1" in result.output
    assert "price-objection" not in result.output
    assert "7 valid scenario files" in result.output


def test_scenarios_names_invalid_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\nversion: 0\n", encoding="utf-8")

    result = runner.invoke(app, ["roleplay", "scenarios", "--folder", str(tmp_path)])

    assert result.exit_code == 1
    assert "invalid scenario: broken.yaml:" in result.output
