"""deployed_objects: what the Cockpit's inventory deployed to a Controller, at which path (folder + name)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployed_objects",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("folder", sa.String(length=512), nullable=False),
        sa.Column("commit_id", sa.String(length=128), nullable=False),
        sa.Column("deployed_at", sa.BigInteger(), nullable=False),
        sa.Column("store_notification_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "object_type", "name"),
    )
    with op.batch_alter_table("deployed_objects", schema=None) as batch_op:
        batch_op.create_index("ix_deployed_folder", ["controller_id", "folder"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deployed_objects", schema=None) as batch_op:
        batch_op.drop_index("ix_deployed_folder")
    op.drop_table("deployed_objects")
