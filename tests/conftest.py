"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and live loopback servers."""

from __future__ import annotations

import os
import shutil
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


def _create_schema(admin: Engine, schema: str) -> None:
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - report any connection failure the same way
        admin.dispose()
        if REQUIRE_POSTGRES:
            raise
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is not reachable ({type(exc).__name__}); set ASSISTANT_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[str]:
    """One migrated schema per test process, dropped at the end, so parallel runs never meet."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(POSTGRES_URL)
    _create_schema(admin, schema)

    engine = create_db_engine(POSTGRES_URL, options=f"-csearch_path={schema}")
    migrate(engine)
    engine.dispose()
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _empty_postgres_schema(schema: str) -> None:
    """Delete every row the test wrote; the migrations' own bookkeeping stays."""
    admin = create_db_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '20s'"))
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema AND tablename <> 'alembic_version'"),
            {"schema": schema},
        ).scalars().all()
        if tables:
            names = ", ".join(f'"{schema}"."{table}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database; every test that takes it runs once per supported database."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        engine = create_db_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return

    schema = request.getfixturevalue("_postgres_schema")
    engine = create_db_engine(POSTGRES_URL, options=f"-csearch_path={schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        _empty_postgres_schema(schema)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def live_server() -> Iterator[type[LiveServer]]:
    """Hand out the LiveServer class; use it as `with live_server(app) as server:`."""
    yield LiveServer
