"""the first read model: controllers, agents, subagents, workflows, orders, history, steps, task logs, audit log

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "agents",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("agent_path", sa.String(length=512), nullable=False),
        sa.Column("uri", sa.Text(), nullable=True),
        sa.Column("directors", sa.Text(), nullable=True),
        sa.Column("process_limit", sa.Integer(), nullable=True),
        sa.Column("coupling", sa.String(length=32), nullable=False),
        sa.Column("agent_run_id", sa.String(length=128), nullable=True),
        sa.Column("agent_event_id", sa.BigInteger(), nullable=False),
        sa.Column("last_problem", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "agent_path"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("controller_id", sa.String(length=512), nullable=True),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("request", sa.String(length=255), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("ticket_link", sa.Text(), nullable=True),
        sa.Column("time_spent_s", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_created", ["created_at"], unique=False)

    op.create_table(
        "controllers",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.BigInteger(), nullable=True),
        sa.Column("cluster_state", sa.Text(), nullable=True),
        sa.Column("inapplicable_events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id"),
    )
    op.create_table(
        "order_history",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("order_id", sa.String(length=512), nullable=False),
        sa.Column("run_event_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_order_id", sa.String(length=512), nullable=True),
        sa.Column("workflow_path", sa.String(length=512), nullable=False),
        sa.Column("workflow_version", sa.String(length=512), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_for", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("end_position", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("controller_id", "order_id", "run_event_id"),
    )
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.create_index("ix_history_added", ["controller_id", "added_at"], unique=False)
        batch_op.create_index("ix_history_ended", ["controller_id", "ended_at"], unique=False)
        batch_op.create_index("ix_history_parent", ["controller_id", "parent_order_id"], unique=False)
        batch_op.create_index("ix_history_state", ["controller_id", "state", "added_at"], unique=False)
        batch_op.create_index("ix_history_workflow", ["controller_id", "workflow_path", "added_at"], unique=False)

    op.create_table(
        "order_steps",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("step_event_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=512), nullable=False),
        sa.Column("run_event_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_path", sa.String(length=512), nullable=False),
        sa.Column("workflow_version", sa.String(length=512), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("job_name", sa.String(length=512), nullable=True),
        sa.Column("agent_path", sa.String(length=512), nullable=True),
        sa.Column("subagent_id", sa.String(length=512), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("return_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("log_bytes", sa.BigInteger(), nullable=False),
        sa.Column("log_dropped_bytes", sa.BigInteger(), nullable=False),
        sa.Column("log_truncated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "step_event_id"),
    )
    with op.batch_alter_table("order_steps", schema=None) as batch_op:
        batch_op.create_index("ix_steps_job", ["controller_id", "workflow_path", "job_name"], unique=False)
        batch_op.create_index("ix_steps_order", ["controller_id", "order_id", "run_event_id"], unique=False)
        batch_op.create_index("ix_steps_outcome", ["controller_id", "outcome", "started_at"], unique=False)
        batch_op.create_index("ix_steps_started", ["controller_id", "started_at"], unique=False)

    op.create_table(
        "orders",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("order_id", sa.String(length=512), nullable=False),
        sa.Column("workflow_path", sa.String(length=512), nullable=False),
        sa.Column("workflow_version", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("is_suspended", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Text(), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("scheduled_for", sa.BigInteger(), nullable=True),
        sa.Column("agent_path", sa.String(length=512), nullable=True),
        sa.Column("parent_order_id", sa.String(length=512), nullable=True),
        sa.Column("run_event_id", sa.BigInteger(), nullable=False),
        sa.Column("step_event_id", sa.BigInteger(), nullable=True),
        sa.Column("order_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "order_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_scheduled", ["controller_id", "scheduled_for"], unique=False)
        batch_op.create_index("ix_orders_state", ["controller_id", "state"], unique=False)
        batch_op.create_index("ix_orders_workflow", ["controller_id", "workflow_path"], unique=False)

    op.create_table(
        "subagents",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("subagent_id", sa.String(length=512), nullable=False),
        sa.Column("agent_path", sa.String(length=512), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "subagent_id"),
    )
    op.create_table(
        "task_logs",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("step_event_id", sa.BigInteger(), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("controller_id", "event_id"),
    )
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.create_index("ix_task_logs_step", ["controller_id", "step_event_id", "event_id"], unique=False)

    op.create_table(
        "workflows",
        sa.Column("controller_id", sa.String(length=512), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("version_id", sa.String(length=512), nullable=False),
        sa.Column("workflow_json", sa.Text(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("deployed_at", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("controller_id", "path", "version_id"),
    )


def downgrade() -> None:

    op.drop_table("workflows")
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_task_logs_step")

    op.drop_table("task_logs")
    op.drop_table("subagents")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_workflow")
        batch_op.drop_index("ix_orders_state")
        batch_op.drop_index("ix_orders_scheduled")

    op.drop_table("orders")
    with op.batch_alter_table("order_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_started")
        batch_op.drop_index("ix_steps_outcome")
        batch_op.drop_index("ix_steps_order")
        batch_op.drop_index("ix_steps_job")

    op.drop_table("order_steps")
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_index("ix_history_workflow")
        batch_op.drop_index("ix_history_state")
        batch_op.drop_index("ix_history_parent")
        batch_op.drop_index("ix_history_ended")
        batch_op.drop_index("ix_history_added")

    op.drop_table("order_history")
    op.drop_table("controllers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_created")

    op.drop_table("audit_log")
    op.drop_table("agents")
