"""results: course state, grades, completions, roleplay attempts, collection errors, outbox

Revision ID: results_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "results_0001"
down_revision = None
branch_labels = ("results",)
depends_on = None


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_course_state() -> None:
    op.create_table(
        "results_course_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("moodle_user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=100), nullable=False),
        sa.Column("course_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seen_completed", sa.Boolean(), nullable=True),
        sa.Column("seen_progress", sa.Float(), nullable=True),
        _timestamp("enrolment_start", nullable=True),
        _timestamp("unenrolled_seen_at", nullable=True),
        _timestamp("completed_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("checked_at"),
        sa.UniqueConstraint(
            "employee_id", "course_id", name="uq_results_course_state_person_course"
        ),
    )
    op.create_index("ix_results_course_state_employee_id", "results_course_state", ["employee_id"])
    op.create_index("ix_results_course_state_course_code", "results_course_state", ["course_code"])


def _create_grade() -> None:
    op.create_table(
        "results_grade",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=100), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("item_type", sa.String(length=16), nullable=False),
        sa.Column("item_module", sa.String(length=32), nullable=True),
        sa.Column("item_name", sa.String(length=255), nullable=True),
        sa.Column("cmid", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("grade_max", sa.Float(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        _timestamp("graded_at", nullable=True),
        _timestamp("updated_at"),
        sa.UniqueConstraint(
            "employee_id", "course_id", "item_id", name="uq_results_grade_person_item"
        ),
    )
    op.create_index("ix_results_grade_employee_id", "results_grade", ["employee_id"])


def _create_completion() -> None:
    op.create_table(
        "results_completion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=100), nullable=False),
        sa.Column("course_name", sa.String(length=255), nullable=False),
        _timestamp("completed_at"),
        sa.Column("validity_months", sa.Integer(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("grade_max", sa.Float(), nullable=True),
        _timestamp("recorded_at"),
        sa.UniqueConstraint(
            "employee_id",
            "course_code",
            "completed_at",
            name="uq_results_completion_person_course_time",
        ),
    )
    op.create_index("ix_results_completion_employee_id", "results_completion", ["employee_id"])
    op.create_index("ix_results_completion_course_code", "results_completion", ["course_code"])


def _create_roleplay_attempt() -> None:
    op.create_table(
        "results_roleplay_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.String(length=64), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("scenario_id", sa.String(length=100), nullable=False),
        sa.Column("scenario_title", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        _timestamp("finished_at"),
        _timestamp("recorded_at"),
    )
    op.create_index(
        "ix_results_roleplay_attempt_attempt_id",
        "results_roleplay_attempt",
        ["attempt_id"],
        unique=True,
    )
    op.create_index(
        "ix_results_roleplay_attempt_employee_id", "results_roleplay_attempt", ["employee_id"]
    )


def _create_collection_error() -> None:
    op.create_table(
        "results_collection_error",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _timestamp("occurred_at"),
    )
    op.create_index("ix_results_collection_error_run_id", "results_collection_error", ["run_id"])
    op.create_index(
        "ix_results_collection_error_employee_id", "results_collection_error", ["employee_id"]
    )


def _create_outbox() -> None:
    op.create_table(
        "results_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("next_attempt_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _timestamp("lease_expires_at", nullable=True),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("delivered_at", nullable=True),
        sa.UniqueConstraint("target", "idempotency_key", name="uq_results_outbox_target_key"),
    )
    op.create_index("ix_results_outbox_target", "results_outbox", ["target"])
    op.create_index("ix_results_outbox_employee_id", "results_outbox", ["employee_id"])
    op.create_index("ix_results_outbox_status", "results_outbox", ["status"])
    op.create_index("ix_results_outbox_next_attempt_at", "results_outbox", ["next_attempt_at"])


def upgrade() -> None:
    _create_course_state()
    _create_grade()
    _create_completion()
    _create_roleplay_attempt()
    _create_collection_error()
    _create_outbox()


def downgrade() -> None:
    for table in (
        "results_outbox",
        "results_collection_error",
        "results_roleplay_attempt",
        "results_completion",
        "results_grade",
        "results_course_state",
    ):
        op.drop_table(table)
