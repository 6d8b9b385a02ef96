"""subagent_bundles: JS7's SubagentBundle items (JOC's Subagent clusters), their Subagents' priorities

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subagent_bundles",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("bundle_id", sa.String(length=512), nullable=False),
        sa.Column("priorities", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "bundle_id"),
    )


def downgrade() -> None:
    op.drop_table("subagent_bundles")
