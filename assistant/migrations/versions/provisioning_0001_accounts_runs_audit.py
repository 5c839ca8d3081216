"""provisioning: account links, sync runs and the audit trail

Revision ID: provisioning_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "provisioning_0001"
down_revision = None
branch_labels = ("provisioning",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisioning_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("moodle_user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("pushed_values", sa.JSON(), nullable=False),
        sa.Column("pushed_hash", sa.String(length=64), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("linked_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_provisioning_account_employee_id", "provisioning_account", ["employee_id"], unique=True)
    op.create_index(
        "ix_provisioning_account_moodle_user_id", "provisioning_account", ["moodle_user_id"], unique=True
    )

    op.create_table(
        "provisioning_run",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_records", sa.Integer(), nullable=False),
        sa.Column("source_complete", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_provisioning_run_started_at", "provisioning_run", ["started_at"])
    op.create_index("ix_provisioning_run_status", "provisioning_run", ["status"])

    op.create_table(
        "provisioning_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("moodle_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_provisioning_audit_run_id", "provisioning_audit", ["run_id"])
    op.create_index("ix_provisioning_audit_employee_id", "provisioning_audit", ["employee_id"])
    op.create_index("ix_provisioning_audit_at", "provisioning_audit", ["at"])


def downgrade() -> None:
    op.drop_table("provisioning_audit")
    op.drop_table("provisioning_run")
    op.drop_table("provisioning_account")
