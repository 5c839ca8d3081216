"""An app in demo mode with the test organisation, and a client per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from assistant.app import create_app
from assistant.config import Settings
from tests.auth.factories import ADMIN_ID, Org, seed_org

SCIM_TOKEN = "scim-test-token-0123456789"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "demo",
        "data_dir": tmp_path,
        "secret_key": "test-secret-key-0123456789abcdef",
        "scim_token": SCIM_TOKEN,
        "admin_employee_ids": [ADMIN_ID],
        "llm_provider": "scripted",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> FastAPI:
    return create_app(make_settings(tmp_path), engine=engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def org(client: TestClient, engine: Engine) -> Org:
    """The people and tokens; takes `client` so that migrations have run first."""
    return seed_org(engine)
