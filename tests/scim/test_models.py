"""The SCIM tables in SQLModel and in the scim migration branch must agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

# The scim table references people_person, so both modules register their tables.
import assistant.people.models
import assistant.scim.models  # noqa: F401


def test_scim_tables_match_migration(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    scim_differences = [difference for difference in differences if "scim_" in repr(difference)]
    assert scim_differences == []
