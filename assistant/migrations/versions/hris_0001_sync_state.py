"""hris: the incremental-pull cursor of each HR source

Revision ID: hris_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "hris_0001"
down_revision = None
branch_labels = ("hris",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hris_sync_state",
        sa.Column("source", sa.String(length=64), primary_key=True),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("last_run_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hris_sync_state")
