"""orders by last EventId and order_steps by end time: /joc/api/events reads what changed after an EventId

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_event", ["controller_id", "last_event_id"], unique=False)
    with op.batch_alter_table("order_steps", schema=None) as batch_op:
        batch_op.create_index("ix_steps_ended", ["controller_id", "ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_ended")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_event")
