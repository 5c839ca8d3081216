"""roleplay: attempts, turns, scores and review notes

Revision ID: roleplay_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "roleplay_0001"
down_revision = None
branch_labels = ("roleplay",)
depends_on = None


def _attempt_fk() -> sa.ForeignKey:
    return sa.ForeignKey("roleplay_attempt.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "roleplay_attempt",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("employee_id", sa.String(length=64), nullable=False),
        sa.Column("scenario_id", sa.String(length=100), nullable=False),
        sa.Column("scenario_version", sa.Integer(), nullable=False),
        sa.Column("scenario_title", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("learner_turns", sa.Integer(), nullable=False),
        sa.Column("model_ms_total", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_roleplay_attempt_employee_id", "roleplay_attempt", ["employee_id"])
    op.create_index("ix_roleplay_attempt_scenario_id", "roleplay_attempt", ["scenario_id"])
    op.create_index("ix_roleplay_attempt_status", "roleplay_attempt", ["status"])

    op.create_table(
        "roleplay_turn",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.String(length=32), _attempt_fk(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("regenerations", sa.Integer(), nullable=False),
        sa.Column("fallback_used", sa.Boolean(), nullable=False),
        sa.Column("guard_reasons", sa.JSON(), nullable=False),
        sa.UniqueConstraint("attempt_id", "n", name="uq_roleplay_turn_attempt_n"),
    )
    op.create_index("ix_roleplay_turn_attempt_id", "roleplay_turn", ["attempt_id"])

    op.create_table(
        "roleplay_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.String(length=32), _attempt_fk(), nullable=False),
        sa.Column("overall", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("pass_mark", sa.Float(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("injection_suspected", sa.Boolean(), nullable=False),
        sa.Column("flagged_turns", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("judge_provider", sa.String(length=32), nullable=False),
        sa.Column("judge_model", sa.String(length=200), nullable=False),
        sa.Column("prompt_version", sa.String(length=64), nullable=False),
        sa.Column("scoring_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_roleplay_score_attempt_id", "roleplay_score", ["attempt_id"], unique=True)

    op.create_table(
        "roleplay_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("attempt_id", sa.String(length=32), _attempt_fk(), nullable=False),
        sa.Column("reviewer_employee_id", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_roleplay_review_attempt_id", "roleplay_review", ["attempt_id"])
    op.create_index("ix_roleplay_review_reviewer_employee_id", "roleplay_review", ["reviewer_employee_id"])


def downgrade() -> None:
    op.drop_table("roleplay_review")
    op.drop_table("roleplay_score")
    op.drop_table("roleplay_turn")
    op.drop_table("roleplay_attempt")
