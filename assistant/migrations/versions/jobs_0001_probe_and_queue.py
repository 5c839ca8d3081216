"""jobs: probe table, and on PostgreSQL the procrastinate job-queue schema

Revision ID: jobs_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "jobs_0001"
down_revision = None
branch_labels = ("jobs",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs_probe",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("executions", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_jobs_probe_run_id", "jobs_probe", ["run_id"])

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The queue's own tables and functions, as the installed procrastinate release defines them.
        # TODO(#8): a procrastinate upgrade needs its shipped SQL migrations applied as a new revision here.
        from procrastinate.schema import SchemaManager

        # Sent as driver SQL so that its :: casts reach PostgreSQL untouched; the driver still
        # reads % as a placeholder, so each one is doubled as procrastinate itself does.
        bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.drop_table("jobs_probe")
