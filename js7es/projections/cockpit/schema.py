"""The Cockpit's read model: SQLAlchemy Core tables, in JOC's spirit (HISTORY_ORDERS, HISTORY_ORDER_STEPS,
HISTORY_LOGS, …), one set for all Controllers: every row carries its `controller_id` (multi-client).

Every column is derived from the events alone (no wall clock, no configuration except the task log
limit), so a rebuild yields the very same rows as the live projection; `digest` proves it. Times are
epoch milliseconds (the events' timestamps). The migrations (migrations/versions) create exactly these
tables; a test checks that they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

ID = String(512)  # JS7's limit for order ids and paths

# One row per registered Controller: the stored EventId that the projection has committed (the
# offset, written in the same transaction as the rows of each batch) and, later, its cluster state.
controllers = Table(
    "controllers",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("event_id", BigInteger, nullable=False),
    Column("event_count", BigInteger, nullable=False),  # events applied so far
    Column("last_event_at", BigInteger),  # timestamp of the last applied event
    Column("cluster_state", Text),  # the Controller cluster's state (JSON), with the cluster issue
    Column("inapplicable_events", BigInteger, nullable=False),  # events the model could not place (bugs)
)

agents = Table(
    "agents",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("agent_path", ID, primary_key=True),
    Column("uri", Text),
    Column("directors", Text),  # JSON array of subagent ids
    Column("process_limit", Integer),
    Column("coupling", String(32), nullable=False),  # Reset | Coupled | CouplingFailed (JS7's names)
    Column("agent_run_id", String(128)),
    Column("agent_event_id", BigInteger, nullable=False),  # the Agent's events observed so far
    Column("last_problem", Text),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

subagents = Table(
    "subagents",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("subagent_id", ID, primary_key=True),
    Column("agent_path", ID, nullable=False),
    Column("uri", Text, nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# JS7's SubagentBundle items (JOC's Subagent clusters; migration 0011): `priorities` is the JSON of subagentToPriority.
subagent_bundles = Table(
    "subagent_bundles",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("bundle_id", ID, primary_key=True),
    Column("priorities", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Every deployed workflow version; `is_current` marks the one new orders get.
workflows = Table(
    "workflows",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("path", ID, primary_key=True),
    Column("version_id", ID, primary_key=True),
    Column("workflow_json", Text, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("deployed_at", BigInteger, nullable=False),
    Column("removed_at", BigInteger),  # no longer the current version (VersionedItemRemoved, a newer one)
    Column("deleted_at", BigInteger),  # gone from the Controller (ItemDeleted)
)

# JS7's WorkflowPathControl of a workflow path (ControlWorkflowPath: suspended, skipped labels), until ItemDeleted.
workflow_path_controls = Table(
    "workflow_path_controls",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("path", ID, primary_key=True),
    Column("suspended", Boolean, nullable=False),
    Column("skip", Text, nullable=False),  # JSON array of the skipped labels
    Column("updated_at", BigInteger, nullable=False),
)

# The current orders, one row each, until OrderDeleted (or the join of a fork's children).
orders = Table(
    "orders",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("order_id", ID, primary_key=True),
    Column("workflow_path", ID, nullable=False),
    Column("workflow_version", ID, nullable=False),
    Column("state", String(32), nullable=False),  # JS7's state name: Fresh, Ready, Processing, Finished, …
    Column("is_suspended", Boolean, nullable=False),
    Column("position", Text, nullable=False),  # JSON array, e.g. [1,"then",0]
    Column("arguments", Text, nullable=False),  # JSON object
    Column("scheduled_for", BigInteger),
    Column("agent_path", ID),  # attached to (or attaching to, detaching from) this Agent
    Column("parent_order_id", ID),
    Column("run_event_id", BigInteger, nullable=False),  # the order_history row of this run
    Column("step_event_id", BigInteger),  # the order_steps row of the running job, if any
    Column("order_json", Text, nullable=False),  # the whole order, as the domain has it
    Column("updated_at", BigInteger, nullable=False),
    Column("last_event_id", BigInteger, nullable=False),
)

# One row per order run (an order id used again after deletion is a new run), also one per child
# order of a fork (parent_order_id set), as JOC does.
order_history = Table(
    "order_history",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("order_id", ID, primary_key=True),
    Column("run_event_id", BigInteger, primary_key=True),  # EventId of OrderAdded / OrderForked
    Column("parent_order_id", ID),
    Column("workflow_path", ID, nullable=False),
    Column("workflow_version", ID, nullable=False),
    Column("arguments", Text, nullable=False),
    Column("added_at", BigInteger, nullable=False),
    Column("scheduled_for", BigInteger),
    Column("started_at", BigInteger),
    Column("ended_at", BigInteger),
    Column("state", String(32), nullable=False),  # Pending | Running | Finished | Failed | Cancelled | Broken
    Column("end_position", Text),
    Column("error_message", Text),
)

order_steps = Table(
    "order_steps",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("step_event_id", BigInteger, primary_key=True),  # EventId of OrderProcessingStarted
    Column("order_id", ID, nullable=False),
    Column("run_event_id", BigInteger, nullable=False),
    Column("workflow_path", ID, nullable=False),
    Column("workflow_version", ID, nullable=False),
    Column("position", Text, nullable=False),
    Column("job_name", ID),
    Column("agent_path", ID),
    Column("subagent_id", ID),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Column("return_code", Integer),
    Column("outcome", String(32)),  # Succeeded | Failed | Killed | TimedOut | Disrupted
    Column("error_message", Text),
    Column("log_bytes", BigInteger, nullable=False),  # stored bytes of stdout + stderr (UTF-8)
    Column("log_dropped_bytes", BigInteger, nullable=False),  # beyond the task log limit
    Column("log_truncated", Boolean, nullable=False),
)

# Task output, one zlib-compressed chunk per OrderStdoutWritten/OrderStderrWritten event, committed
# with its batch: readable while the task runs, and never held whole in memory.
task_logs = Table(
    "task_logs",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("event_id", BigInteger, primary_key=True),
    Column("step_event_id", BigInteger, nullable=False),
    Column("stream", String(8), nullable=False),  # stdout | stderr | marker (the truncation notice)
    Column("size", Integer, nullable=False),  # uncompressed bytes
    Column("data", LargeBinary, nullable=False),  # zlib
)

# JOC's JOC_AUDIT_LOG: a projection of the Cockpit store's events (projections/cockpit/audit.py), one row
# per store notification; a command sent to a Controller is one row whose `outcome` its answer fills in.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("controller_id", ID),
    Column("account", String(255), nullable=False),
    Column("request", String(255), nullable=False),
    Column("parameters", Text),
    Column("category", String(64)),
    Column("comment", Text),
    Column("ticket_link", Text),
    Column("time_spent_s", Integer),
    Column("created_at", BigInteger, nullable=False),
    Column("store_notification_id", BigInteger),  # the store's position of the event (unique)
    Column("request_id", String(128)),  # a Controller command's request id
    # Accepted | Refused: <problem> | Unknown (the Cockpit stopped before the answer) | Pending; NULL for
    # changes that are not Controller commands
    Column("outcome", Text),
)

# JOC's login history (/audit_log/login_history), projected from LoginSucceeded/LoginFailed.
login_history = Table(
    "login_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("account", String(255), nullable=False),
    Column("address", String(255), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", Text),
    Column("identity_service", String(255)),
    Column("created_at", BigInteger, nullable=False),
    Column("store_notification_id", BigInteger, nullable=False),
)

# Followers of the Cockpit store (the audit projection): the last store notification id whose rows are
# committed, written in the same transaction as those rows (exactly once).
store_tracking = Table(
    "store_tracking",
    metadata,
    Column("follower", String(64), primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
)

# What the Cockpit's inventory deployed to a Controller (projections/cockpit/deployed.py, a follower of the
# Cockpit store with its own tracking key): JS7 Controllers know objects by name only, so this is where a
# deployed workflow's JOC path (folder + name) comes from; the read queries LEFT JOIN it on
# (controller_id, "WORKFLOW", name), a workflow without a row (deployed otherwise) lives in "/".
deployed_objects = Table(
    "deployed_objects",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("object_type", String(64), primary_key=True),  # JOC's: WORKFLOW, JOBRESOURCE, LOCK, …
    Column("name", ID, primary_key=True),
    Column("path", ID, nullable=False),  # absolute: /a/b/W
    Column("folder", ID, nullable=False),  # /a/b ("/" for the root)
    Column("commit_id", String(128), nullable=False),  # the deployment (JS7's versionId)
    Column("deployed_at", BigInteger, nullable=False),
    Column("store_notification_id", BigInteger, nullable=False),  # the store's position of the deployment
)

# The daily plan (projections/cockpit/daily_plan.py): one row per planned order, from the Cockpit store.
daily_plan_orders = Table(
    "daily_plan_orders",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("order_id", ID, primary_key=True),  # JOC's #<date>#P… / #<date>#C…
    Column("plan_date", String(10), nullable=False),  # YYYY-MM-DD
    Column("schedule_path", ID, nullable=False),
    Column("schedule_folder", ID, nullable=False),
    Column("workflow_name", ID, nullable=False),
    Column("workflow_path", ID, nullable=False),
    Column("workflow_folder", ID, nullable=False),
    Column("order_name", ID, nullable=False),
    Column("calendar_name", ID, nullable=False),
    Column("planned_start", BigInteger, nullable=False),
    Column("period_begin", BigInteger),  # cyclic orders: the period's first and last start, the repeat (s)
    Column("period_end", BigInteger),
    Column("repeat_interval", BigInteger),
    Column("cycle_nr", Integer, nullable=False),
    Column("cycle_size", Integer, nullable=False),
    Column("arguments", Text, nullable=False),  # JSON object
    Column("status", String(16), nullable=False),  # daily_plan.STATUSES
    Column("submission_id", BigInteger, nullable=False),
    Column("submitted_at", BigInteger),
    Column("problem", Text),  # JSON: the Controller's refusal of the last submission
    Column("store_notification_id", BigInteger, nullable=False),
)
daily_plan_submissions = Table(
    "daily_plan_submissions",
    metadata,
    Column("controller_id", ID, primary_key=True),
    Column("submission_id", BigInteger, primary_key=True),
    Column("plan_date", String(10), primary_key=True),
    Column("submission_time", BigInteger, nullable=False),
)
Index("ix_dpl_date", daily_plan_orders.c.controller_id, daily_plan_orders.c.plan_date)
Index("ix_dpl_status", daily_plan_orders.c.controller_id, daily_plan_orders.c.status, daily_plan_orders.c.planned_start)
# with is_suspended and scheduled_for, so that the snapshot counts from the index alone (migration 0007)
Index("ix_orders_state", orders.c.controller_id, orders.c.state, orders.c.is_suspended, orders.c.scheduled_for)
Index("ix_orders_workflow", orders.c.controller_id, orders.c.workflow_path)
Index("ix_orders_scheduled", orders.c.controller_id, orders.c.scheduled_for)
Index("ix_history_added", order_history.c.controller_id, order_history.c.added_at)
# /orders/history pages by start time, newest first (migration 0002)
Index("ix_history_started", order_history.c.controller_id, order_history.c.started_at)
Index("ix_history_ended", order_history.c.controller_id, order_history.c.ended_at)
Index("ix_history_state", order_history.c.controller_id, order_history.c.state, order_history.c.added_at)
Index("ix_history_workflow", order_history.c.controller_id, order_history.c.workflow_path, order_history.c.added_at)
Index("ix_history_parent", order_history.c.controller_id, order_history.c.parent_order_id)
Index("ix_steps_order", order_steps.c.controller_id, order_steps.c.order_id, order_steps.c.run_event_id)
Index("ix_steps_started", order_steps.c.controller_id, order_steps.c.started_at)
Index("ix_steps_job", order_steps.c.controller_id, order_steps.c.workflow_path, order_steps.c.job_name)
Index("ix_steps_outcome", order_steps.c.controller_id, order_steps.c.outcome, order_steps.c.started_at)
# /joc/api/events: what changed after an EventId (migration 0004)
Index("ix_orders_event", orders.c.controller_id, orders.c.last_event_id)
Index("ix_steps_ended", order_steps.c.controller_id, order_steps.c.ended_at)
Index("ix_task_logs_step", task_logs.c.controller_id, task_logs.c.step_event_id, task_logs.c.event_id)
Index("ix_audit_created", audit_log.c.created_at)
Index("ux_audit_store_notification", audit_log.c.store_notification_id, unique=True)
Index("ix_audit_request_id", audit_log.c.request_id)
Index("ux_login_store_notification", login_history.c.store_notification_id, unique=True)
Index("ix_login_account", login_history.c.account, login_history.c.created_at)
# the objects of a folder (migration 0005)
Index("ix_deployed_folder", deployed_objects.c.controller_id, deployed_objects.c.folder)

# The Cockpit cluster's activity (migration 0009; js7es/nodes/cockpit/cluster.py): one row per cluster id,
# the active member and its generation; `expires_at` on the database's clock. Not projected: kept by a rebuild.
joc_cluster_lease = Table(
    "joc_cluster_lease",
    metadata,
    Column("cluster_id", String(255), primary_key=True),
    Column("holder", String(255), nullable=False),  # "" = released
    Column("holder_uri", String(1024), nullable=False),
    Column("generation", BigInteger, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    # a switch-over's target: only it takes the released lease until it expires (migration 0010)
    Column("switch_to", String(255), nullable=False, server_default=""),
)
# A random key per Cockpit cluster (migration 0010): a member vouches with it for the caller's address of a
# request it forwards to the active one (nodes/cockpit/api/forwarding.py).
joc_cluster_secrets = Table(
    "joc_cluster_secrets",
    metadata,
    Column("cluster_id", String(255), primary_key=True),
    Column("secret", String(64), nullable=False),
)
# Every member of a Cockpit cluster, with its heartbeat (JOC's JOC_INSTANCES; /joc/api/jocs).
joc_cluster_members = Table(
    "joc_cluster_members",
    metadata,
    Column("cluster_id", String(255), primary_key=True),
    Column("member_id", String(255), primary_key=True),
    Column("uri", String(1024), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# The Cockpit's sessions (migration 0010; js7es/nodes/cockpit/api/sessions.py): keyed by the SHA-256 of the
# access token, written by every member of a Cockpit cluster (not fenced). Not projected: kept by a rebuild.
joc_sessions = Table(
    "joc_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account", String(255), nullable=False),
    Column("identity_service", String(255), nullable=False),
    Column("roles", Text, nullable=False),  # a JSON list
    Column("created_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),  # wall clock of the last request
    Column("caller_ip", String(255)),
    Column("force_password_change", Boolean, nullable=False),
    Column("selected_controller", String(512)),
    Column("expired_ms", BigInteger),  # set when it timed out: answers 440 for a day, then it is deleted
)
Index("ix_joc_sessions_account", joc_sessions.c.account)

# The tables of one Controller's read model, in the order a rebuild deletes them; the tables projected from
# the Cockpit store (audit, deployed objects) are not.
PROJECTED_TABLES = (
    task_logs,
    order_steps,
    order_history,
    orders,
    workflow_path_controls,
    workflows,
    subagent_bundles,
    subagents,
    agents,
    controllers,
)
AUDIT_TABLES = (audit_log, login_history, store_tracking)
STORE_TABLES = (*AUDIT_TABLES, deployed_objects)
ALL_TABLES = (*PROJECTED_TABLES, *STORE_TABLES)
