"""the audit log as a projection of the Cockpit store: outcome, request id and store position of a row;
login history; the store followers' tracking

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_notification_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))
        batch_op.create_index("ux_audit_store_notification", ["store_notification_id"], unique=True)
        batch_op.create_index("ix_audit_request_id", ["request_id"], unique=False)

    op.create_table(
        "login_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("identity_service", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("store_notification_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_history", schema=None) as batch_op:
        batch_op.create_index("ux_login_store_notification", ["store_notification_id"], unique=True)
        batch_op.create_index("ix_login_account", ["account", "created_at"], unique=False)

    op.create_table(
        "store_tracking",
        sa.Column("follower", sa.String(length=64), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("follower"),
    )


def downgrade() -> None:
    op.drop_table("store_tracking")
    with op.batch_alter_table("login_history", schema=None) as batch_op:
        batch_op.drop_index("ix_login_account")
        batch_op.drop_index("ux_login_store_notification")
    op.drop_table("login_history")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_request_id")
        batch_op.drop_index("ux_audit_store_notification")
        batch_op.drop_column("outcome")
        batch_op.drop_column("request_id")
        batch_op.drop_column("store_notification_id")
