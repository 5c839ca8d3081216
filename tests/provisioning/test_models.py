"""The provisioning tables as the migration creates them match the SQLModel models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import assistant.provisioning.models  # noqa: F401 - registers the tables on SQLModel.metadata

TABLES = {"provisioning_account", "provisioning_run", "provisioning_audit"}


def _table_of(diff: object) -> str | None:
    # compare_metadata yields tuples such as ("add_column", schema, table, column). Column
    # modifications come as lists of such tuples. The table name is in one of the first slots.
    entry = diff[0] if isinstance(diff, list) else diff
    for part in entry[1:4]:
        name = getattr(part, "name", part)
        if isinstance(name, str) and name in TABLES:
            return name
        table = getattr(part, "table", None)
        if table is not None and table.name in TABLES:
            return str(table.name)
    return None


def test_migration_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, SQLModel.metadata)

    ours = [diff for diff in diffs if _table_of(diff) is not None]
    assert ours == []
