"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and live loopback servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.db import create_db_engine, migrate
from tests.support import LiveServer

POSTGRES_URL = os.environ.get("ASSISTANT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("ASSISTANT_TEST_REQUIRE_POSTGRES") == "1"


def _postgres_engine() -> Iterator[Engine]:
    """Yield an engine bound to a fresh schema, dropped afterwards, so parallel runs never meet."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - report any connection failure the same way
        admin.dispose()
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}); set ASSISTANT_TEST_POSTGRES_URL")

    engine = create_db_engine(POSTGRES_URL, options=f"-csearch_path={schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine; every test that takes it runs once per supported database."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return

    for engine in _postgres_engine():
        migrate(engine)
        yield engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def live_server() -> Iterator[type[LiveServer]]:
    """Hand out the LiveServer class; use it as `with live_server(app) as server:`."""
    yield LiveServer
