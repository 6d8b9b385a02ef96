"""daily_plan_orders, daily_plan_submissions: the daily plan, projected from the Cockpit store

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.String(length=512)


def upgrade() -> None:
    op.create_table(
        "daily_plan_orders",
        sa.Column("controller_id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("plan_date", sa.String(length=10), nullable=False),
        sa.Column("schedule_path", ID, nullable=False),
        sa.Column("schedule_folder", ID, nullable=False),
        sa.Column("workflow_name", ID, nullable=False),
        sa.Column("workflow_path", ID, nullable=False),
        sa.Column("workflow_folder", ID, nullable=False),
        sa.Column("order_name", ID, nullable=False),
        sa.Column("calendar_name", ID, nullable=False),
        sa.Column("planned_start", sa.BigInteger(), nullable=False),
        sa.Column("period_begin", sa.BigInteger(), nullable=True),
        sa.Column("period_end", sa.BigInteger(), nullable=True),
        sa.Column("repeat_interval", sa.BigInteger(), nullable=True),
        sa.Column("cycle_nr", sa.Integer(), nullable=False),
        sa.Column("cycle_size", sa.Integer(), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", sa.BigInteger(), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("store_notification_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "order_id"),
    )
    with op.batch_alter_table("daily_plan_orders", schema=None) as batch_op:
        batch_op.create_index("ix_dpl_date", ["controller_id", "plan_date"], unique=False)
        batch_op.create_index("ix_dpl_status", ["controller_id", "status", "planned_start"], unique=False)
    op.create_table(
        "daily_plan_submissions",
        sa.Column("controller_id", ID, nullable=False),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("plan_date", sa.String(length=10), nullable=False),
        sa.Column("submission_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "submission_id", "plan_date"),
    )


def downgrade() -> None:
    op.drop_table("daily_plan_submissions")
    with op.batch_alter_table("daily_plan_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_dpl_status")
        batch_op.drop_index("ix_dpl_date")
    op.drop_table("daily_plan_orders")
