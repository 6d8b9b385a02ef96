"""joc_sessions: the Cockpit's sessions in the database, shared by the members of a Cockpit cluster;
joc_cluster_lease.switch_to: the member a switch-over hands the lease to

Revision ID: 0010
Revises: 0009

One row per open session, keyed by the SHA-256 of its access token (never the token). Any member
writes them (login on the active, touch and logout anywhere): they are not fenced, as the lease and
the projections are, so that a token works on every member and survives a takeover.
`switch_to` (JOC's SWITCH_MEMBER_ID): set with a released lease by /joc/cluster/switch_member, so that
only that member takes the lease until it expires ("" otherwise). joc_cluster_secrets: a random key per
cluster, known to whoever may use the database, with which a member vouches for the caller's address of
a request it forwards to the active one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "joc_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("identity_service", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("caller_ip", sa.String(length=255), nullable=True),
        sa.Column("force_password_change", sa.Boolean(), nullable=False),
        sa.Column("selected_controller", sa.String(length=512), nullable=True),
        sa.Column("expired_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_joc_sessions_account", "joc_sessions", ["account"])
    op.create_table(
        "joc_cluster_secrets",
        sa.Column("cluster_id", sa.String(length=255), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id"),
    )
    op.add_column("joc_cluster_lease", sa.Column("switch_to", sa.String(length=255), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("joc_cluster_lease", "switch_to")
    op.drop_table("joc_cluster_secrets")
    op.drop_index("ix_joc_sessions_account", table_name="joc_sessions")
    op.drop_table("joc_sessions")
