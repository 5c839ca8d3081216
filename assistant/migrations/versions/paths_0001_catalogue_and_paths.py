"""paths: synced catalogue, embedding cache, path versions and their items, path requests

Revision ID: paths_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "paths_0001"
down_revision = None
branch_labels = ("paths",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paths_course",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("shortname", sa.String(length=255), nullable=False),
        sa.Column("fullname", sa.String(length=1000), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("category_name", sa.String(length=255), nullable=False),
        sa.Column("idnumber", sa.String(length=100), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("prerequisites", sa.JSON(), nullable=False),
        sa.Column("validity_months", sa.Integer(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_paths_course_shortname", "paths_course", ["shortname"])
    op.create_index("ix_paths_course_active", "paths_course", ["active"])

    op.create_table(
        "paths_embedding",
        sa.Column("content_hash", sa.String(length=64), primary_key=True),
        sa.Column("model", sa.String(length=200), primary_key=True),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "paths_path",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("division", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("role_source", sa.String(length=16), nullable=False),
        sa.Column("role_name", sa.String(length=300), nullable=True),
        sa.Column("role_match", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("gap_skills", sa.JSON(), nullable=False),
        sa.Column("held_skills", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("employee_id", "version", name="uq_paths_path_employee_version"),
    )
    op.create_index("ix_paths_path_employee_id", "paths_path", ["employee_id"])
    op.create_index("ix_paths_path_is_current", "paths_path", ["is_current"])

    op.create_table(
        "paths_path_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path_id", sa.Integer(), sa.ForeignKey("paths_path.id"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("shortname", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.Column("covered_skills", sa.JSON(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("enrolment", sa.String(length=24), nullable=False),
        sa.Column("enrolment_detail", sa.Text(), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_paths_path_item_path_id", "paths_path_item", ["path_id"])

    op.create_table(
        "paths_request",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("employee_ids", sa.JSON(), nullable=False),
        sa.Column("enrol", sa.Boolean(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_paths_request_status", "paths_request", ["status"])


def downgrade() -> None:
    op.drop_table("paths_request")
    op.drop_table("paths_path_item")
    op.drop_table("paths_path")
    op.drop_table("paths_embedding")
    op.drop_table("paths_course")
