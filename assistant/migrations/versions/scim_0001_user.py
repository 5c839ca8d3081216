"""scim: SCIM User resources linked to person records

Revision ID: scim_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "scim_0001"
down_revision = None
branch_labels = ("scim",)
depends_on = "people_0001"


def upgrade() -> None:
    op.create_table(
        "scim_user",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), sa.ForeignKey("people_person.employee_id"), nullable=False),
        sa.Column("user_name", sa.String(length=320), nullable=False),
        sa.Column("user_name_key", sa.String(length=320), nullable=False),
        sa.Column("external_id", sa.String(length=320), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scim_user_employee_id", "scim_user", ["employee_id"], unique=True)
    op.create_index("ix_scim_user_user_name_key", "scim_user", ["user_name_key"], unique=True)
    op.create_index("ix_scim_user_external_id", "scim_user", ["external_id"])


def downgrade() -> None:
    op.drop_table("scim_user")
