"""order_history by start time: the /orders/history page (newest start first) reads an index range

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.create_index("ix_history_started", ["controller_id", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_index("ix_history_started")
