"""`assistant moodle check` against the sandbox on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from assistant.moodle.cli import moodle_app
from assistant.moodle.sandbox import DEFAULT_TOKEN, create_sandbox_app
from assistant.moodle.sandbox.state import load_fixture
from tests.support import LiveServer, free_port

runner = CliRunner()
root = typer.Typer()
root.add_typer(moodle_app, name="moodle")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(create_sandbox_app()) as live:
        yield live


@pytest.fixture(scope="module")
def server_missing_function() -> Iterator[LiveServer]:
    fixture = load_fixture(None)
    fixture["services"]["hr_integration"].remove("core_cohort_get_cohorts")
    with LiveServer(create_sandbox_app(fixture=fixture)) as live:
        yield live


def test_check_prints_site(server: LiveServer) -> None:
    result = runner.invoke(root, ["moodle", "check", "--url", server.url, "--token", DEFAULT_TOKEN])

    assert result.exit_code == 0, result.output
    assert "Site:     HR Integration Lab" in result.output
    assert "Release:  5.1+ (Build: 20251017)" in result.output
    assert "Version:  2025100600.02" in result.output


def test_check_lists_missing_function(server_missing_function: LiveServer) -> None:
    url = server_missing_function.url

    result = runner.invoke(root, ["moodle", "check", "--url", url, "--token", DEFAULT_TOKEN])

    assert result.exit_code == 1
    assert "  - core_cohort_get_cohorts" in result.output


def test_check_invalid_token_exits_2(server: LiveServer) -> None:
    result = runner.invoke(root, ["moodle", "check", "--url", server.url, "--token", "not-the-token"])

    assert result.exit_code == 2
    assert "ASSISTANT_MOODLE_TOKEN" in result.output
    assert "not-the-token" not in result.output


def test_check_unreachable_exits_2() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    result = runner.invoke(root, ["moodle", "check", "--url", url, "--token", DEFAULT_TOKEN])

    assert result.exit_code == 2
    assert "could not connect" in result.output
