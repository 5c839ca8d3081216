from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from assistant.auth.cli import tokens_app
from assistant.config import get_settings
from assistant.db import create_db_engine

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSISTANT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "assistant.db"
    get_settings.cache_clear()


def created_token(output: str) -> str:
    match = re.search(r"^(ast_\S+)$", output, re.MULTILINE)
    assert match is not None, output
    return match.group(1)


def test_create_prints_token_once_and_stores_hash(database: Path) -> None:
    result = runner.invoke(tokens_app, ["create", "--role", "manager", "--employee-id", "2000", "--name", "laptop"])

    assert result.exit_code == 0, result.output
    raw = created_token(result.output)
    engine = create_db_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT role, employee_id, name, token_hash FROM auth_api_token")).all()
    engine.dispose()
    assert [(row.role, row.employee_id, row.name) for row in rows] == [("manager", "2000", "laptop")]
    assert raw not in rows[0].token_hash


def test_list_shows_prefix_not_token(database: Path) -> None:
    raw = created_token(runner.invoke(tokens_app, ["create", "--role", "admin", "--employee-id", "1000"]).output)

    result = runner.invoke(tokens_app, ["list"])

    assert result.exit_code == 0
    assert raw[:12] in result.output
    assert raw not in result.output
    assert "admin" in result.output


def test_revoke_hides_token_from_list(database: Path) -> None:
    runner.invoke(tokens_app, ["create", "--role", "learner", "--employee-id", "2001"])

    revoked = runner.invoke(tokens_app, ["revoke", "1"])
    listed = runner.invoke(tokens_app, ["list"])
    listed_all = runner.invoke(tokens_app, ["list", "--all"])

    assert revoked.exit_code == 0
    assert "Revoked token 1." in revoked.output
    assert "No tokens." in listed.output
    assert "2001" in listed_all.output


def test_unknown_role_exits_with_message(database: Path) -> None:
    result = runner.invoke(tokens_app, ["create", "--role", "owner", "--employee-id", "2000"])

    assert result.exit_code == 2
    assert "invalid role 'owner'; use one of: admin, provisioning, manager, learner" in result.output


def test_revoke_unknown_id_exits_with_message(database: Path) -> None:
    result = runner.invoke(tokens_app, ["revoke", "7"])

    assert result.exit_code == 1
    assert "no API token with id 7" in result.output
