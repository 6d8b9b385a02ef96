"""joc_cluster_lease: the Cockpit cluster's activity (one row per cluster id), its fence, and its members

Revision ID: 0009
Revises: 0008

The row names the active member and its generation; `expires_at` is on the database's clock. The
function ``joc_cluster_fence(cluster_id, generation)`` (PostgreSQL only: SQLite stays single-instance)
(its search_path that of the migration: the lease beside it, whatever the caller's) is called first
in every write transaction of an active Cockpit: it share-locks the lease row while the
generation is still the one given, else raises SQLSTATE JSF01 and the transaction aborts. The share lock
is held to the commit, so a takeover (an UPDATE of the row) waits for writes in flight and every write
after it sees the new generation: no write of a stale member can commit after the takeover.
joc_cluster_members: every member's URI and heartbeat (JOC's JOC_INSTANCES), for /joc/api/jocs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FENCE_FUNCTION = """
CREATE OR REPLACE FUNCTION joc_cluster_fence(p_cluster_id text, p_generation bigint) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM 1 FROM joc_cluster_lease
        WHERE cluster_id = p_cluster_id AND generation = p_generation FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'js7es Cockpit cluster %: generation % is no longer active', p_cluster_id, p_generation
            USING ERRCODE = 'JSF01';
    END IF;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "joc_cluster_lease",
        sa.Column("cluster_id", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),  # "" = released
        sa.Column("holder_uri", sa.String(length=1024), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id"),
    )
    op.create_table(
        "joc_cluster_members",
        sa.Column("cluster_id", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.String(length=255), nullable=False),
        sa.Column("uri", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cluster_id", "member_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FENCE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS joc_cluster_fence(text, bigint)")
    op.drop_table("joc_cluster_members")
    op.drop_table("joc_cluster_lease")
