"""The SQLModel tables and the Alembic migrations must describe the same schema."""

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import assistant


def _import_all_models() -> None:
    for module in pkgutil.walk_packages(assistant.__path__, prefix="assistant."):
        if module.name.endswith(".models"):
            importlib.import_module(module.name)


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The job queue's tables belong to procrastinate, which has no SQLModel models.
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def test_models_match_migrations(engine: Engine) -> None:
    _import_all_models()

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _include})
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []
