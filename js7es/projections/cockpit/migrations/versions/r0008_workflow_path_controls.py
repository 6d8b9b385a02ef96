"""workflow_path_controls: JS7's WorkflowPathControl per workflow path (suspended, skipped labels)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_path_controls",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("skip", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "path"),
    )


def downgrade() -> None:
    op.drop_table("workflow_path_controls")
