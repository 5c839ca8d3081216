"""Alembic environment: runs against the engine handed over in `config.attributes`."""

from alembic import context
from sqlmodel import SQLModel

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
