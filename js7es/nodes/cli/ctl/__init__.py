"""``js7es ctl``: a command-line client of the Controller's HTTP API (js7es/nodes/controller/api.py), or,
with ``--cockpit URL`` or ``--joc``, of the Cockpit's JOC API (js7es/nodes/cockpit/api/).

Where the Controller and the Cockpit are and how ctl logs in: where.py. The clients:
js7es/nodes/client/ (controller.py, cockpit.py). The actions: commands.py with the Controller, joc.py
through the Cockpit (what they print: output.py); ``confirm-node-loss`` talks to a Cluster Watch
(confirm.py). The Cockpit's history, task and order logs and audit log (``history``, ``tasks``,
``logs``, ``log``, ``audit``) are the Cockpit's only: they take it without ``--joc``. This module
registers the command (argparse only); the rest is imported when ctl runs.

Exit codes: 0 done; 1 the Controller refused (its problem printed as ``code: message``) or could not
be reached or the TLS handshake failed; 2 bad usage or input (a missing or malformed file, a bad
argument). Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from js7es.nodes.cli.types import Subparsers

# The Cockpit's own: they go there without --joc (joc.COCKPIT_ONLY, kept here to stay light).
_COCKPIT_ONLY = (
    "print_history",
    "print_tasks",
    "print_task_log",
    "print_order_log",
    "print_audit",
    "print_daily_plan",
)


def register(sub: Subparsers) -> None:
    ctl = sub.add_parser(
        "ctl",
        help="a client of the Controller: deploy, add and control orders, show state, follow events",
        description=(
            "A client of the Controller. Without --controller it talks to the js7es standalone of "
            "--data-dir (default ./js7es-data) with its client certificate. Exit codes: 1 refused or "
            "unreachable, 2 bad usage or input."
        ),
    )
    where = ctl.add_argument_group("where and how")
    where.add_argument(
        "--controller",
        action="append",
        metavar="URL",
        help=(
            "the Controller, e.g. https://host:4444 (env JS7ES_CONTROLLER); give it twice for both nodes of a "
            "Controller cluster: requests go to the active one"
        ),
    )
    where.add_argument(
        "--data-dir", type=Path, help="a js7es standalone data directory (env JS7ES_DATA_DIR; default ./js7es-data)"
    )
    where.add_argument("--ca", type=Path, help="the CA certificate to check the Controller's certificate against")
    where.add_argument("--cert", type=Path, help="client certificate (PEM)")
    where.add_argument("--key", type=Path, help="the client certificate's private key (PEM)")
    where.add_argument("--user", help="log in as this user (password from env JS7ES_PASSWORD or asked for)")
    where.add_argument("--password", help="the user's password (prefer env JS7ES_PASSWORD: a command line is public)")
    joc = ctl.add_argument_group("through the Cockpit's JOC API")
    joc.add_argument(
        "--cockpit",
        metavar="URL",
        help=(
            "talk to this Cockpit's JOC API, e.g. https://host:4446 (env JS7ES_COCKPIT), logged in as --user "
            "(default for a standalone: root, its first password from <data dir>/root-password)"
        ),
    )
    joc.add_argument("--joc", action="store_true", help="talk to the JOC API of the standalone's Cockpit (--data-dir)")
    joc.add_argument("--controller-id", metavar="ID", help="the Controller (default: the Cockpit's only one)")
    comment = argparse.ArgumentParser(add_help=False)
    comment.add_argument("--comment", help="the audit log's comment (through the Cockpit)")
    sub = ctl.add_subparsers(metavar="ACTION")

    deploy = sub.add_parser("deploy", help="deploy item files, all or nothing (*.workflow.json, *.agent.json, ...)")
    deploy.add_argument("files", nargs="+", metavar="FILE")
    deploy.add_argument("--version-id", help="the workflows' versionId (default: generated)")
    deploy.set_defaults(action="deploy_items")

    add = sub.add_parser("add-order", help="add an order to a workflow", parents=[comment])
    add.add_argument("workflow", metavar="WORKFLOW")
    add.add_argument("--id", help="the order id (default: generated, JS7-like; not through the Cockpit)")
    add.add_argument("--name", help="through the Cockpit: the order name, the last part of JOC's order id")
    add.add_argument(
        "--arg", action="append", metavar="NAME=VALUE", help='an argument; VALUE is JSON if it parses (3, true, "3")'
    )
    add.add_argument("--at", metavar="TIME", help="start at an ISO time (local without a zone) or in +SECONDS")
    add.add_argument(
        "--priority", type=_number, help="higher goes first where orders wait for a lock (default 0; 1.5 too)"
    )
    add.set_defaults(action="add_order")

    for name, function, text in (
        ("cancel", "cancel_orders", "cancel orders"),
        ("suspend", "suspend_orders", "suspend orders"),
    ):
        p = sub.add_parser(name, help=text, parents=[comment])
        p.add_argument("ids", nargs="+", metavar="ID")
        p.add_argument("--kill", action="store_true", help="kill a running job process (SIGTERM, then SIGKILL)")
        p.add_argument("--kill-immediately", action="store_true", help="kill a running job process with SIGKILL")
        p.set_defaults(action=function)

    resume = sub.add_parser("resume", help="resume suspended or failed orders", parents=[comment])
    resume.add_argument("ids", nargs="+", metavar="ID")
    resume.add_argument("--position", metavar="JSON", help='continue at this position, e.g. 2 or [1, "then", 0]')
    resume.set_defaults(action="resume_order")

    change = sub.add_parser("change-order", help="change an order's priority (ChangeOrder)")
    change.add_argument("id", metavar="ID")
    change.add_argument(
        "--priority", type=_number, required=True, help="higher goes first where orders wait for a lock (1.5 too)"
    )
    change.set_defaults(action="change_order")

    answer = sub.add_parser("answer", help="answer an order's prompt")
    answer.add_argument("id", metavar="ID")
    answer.set_defaults(action="answer_prompt")

    go = sub.add_parser("go", help="let an order waiting for a time (scheduled, retry delay, sleep, cycle) go on now")
    go.add_argument("id", metavar="ID")
    go.add_argument("--position", metavar="JSON", help="where it waits (default: where it is now)")
    go.set_defaults(action="go_order")

    transfer = sub.add_parser("transfer", help="move the orders of an older workflow version to the current one")
    transfer.add_argument("workflow", metavar="PATH~VERSION", help="the older version, e.g. daily~2026-01-30")
    transfer.set_defaults(action="transfer_orders")

    for name, control, text in (
        ("suspend-workflow", "suspend", "suspend a workflow: its orders stop before their next instruction"),
        ("resume-workflow", "resume", "resume a suspended workflow"),
        ("skip-job", "skip", "skip the instruction with this label in the workflow (JS7: any labelled one)"),
        ("unskip-job", "unskip", "run the labelled instruction again"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("workflow", metavar="WORKFLOW", help="the workflow's path")
        if control in ("skip", "unskip"):
            p.add_argument("label", metavar="LABEL", help="the instruction's label")
        p.set_defaults(action="control_workflow_path", control=control)

    for name, control, text in (
        ("disable-subagent", "disable", "disable Subagents: no new job starts on them (running ones go on)"),
        ("enable-subagent", "enable", "enable disabled Subagents"),
        ("reset-subagent", "reset", "reset a Subagent: its running processes are lost, their steps run again"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("subagents", metavar="SUBAGENT", nargs=1 if control == "reset" else "+")
        if control == "reset":
            p.add_argument("--force", action="store_true", help="even when the Subagent cannot be reached")
        p.set_defaults(action="control_subagents", control=control)

    for name, function, text in (
        ("post-notice", "post_notice", "post a notice to a board (JS7's PostNotice)"),
        ("delete-notice", "delete_notice", "delete a board's notice (JS7's DeleteNotice)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("board", metavar="BOARD")
        p.add_argument(
            "notice_key", metavar="KEY", nargs="?", default="", help="the notice key (default: the empty key)"
        )
        p.add_argument("--plan", metavar="DATE", help="the daily plan of a PlannableBoard's notice, e.g. 2026-01-31")
        if name == "post-notice":
            p.add_argument("--end-of-life", metavar="WHEN", help="+SECONDS or an ISO time (default: the board's)")
        p.set_defaults(action=function)

    orders = sub.add_parser("orders", help="the orders, as a table")
    orders.add_argument(
        "--state", help="only orders in this state (Fresh, Ready, Processing, Finished, ..., suspended)"
    )
    orders.add_argument("--json", action="store_true", help="one order per line as JSON")
    orders.set_defaults(action="list_orders")

    show = sub.add_parser("show", help="one order as JSON")
    show.add_argument("id", metavar="ID")
    show.set_defaults(action="show_order")

    events = sub.add_parser("events", help="the event stream, one line per event")
    events.add_argument("--after", type=int, default=0, metavar="EVENTID", help="only events after this EventId")
    events.add_argument("--follow", "-f", action="store_true", help="wait for new events (Ctrl-C ends)")
    events.add_argument("--json", action="store_true", help="JS7's Stamped JSON, one event per line (ndjson)")
    events.set_defaults(action="print_events")

    overview = sub.add_parser("overview", help="the Controller and its Agents")
    overview.add_argument("--json", action="store_true")
    overview.set_defaults(action="print_overview")

    cluster = sub.add_parser("cluster", help="the Controller cluster: this node's role and the cluster state")
    cluster.add_argument("--json", action="store_true")
    cluster.set_defaults(action="print_cluster")

    history = sub.add_parser("history", help="the Cockpit's order history, newest first")
    tasks = sub.add_parser("tasks", help="the Cockpit's task history (the TASK ids of `logs`), newest first")
    for p, function in ((history, "print_history"), (tasks, "print_tasks")):
        p.add_argument("--order", metavar="ID", help="only this order (JOC's glob: * and ?)")
        p.add_argument("--workflow", metavar="NAME", help="only this workflow (a name, or a path with /)")
        p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
        p.add_argument("--json", action="store_true", help="one entry per line as JOC's JSON")
        p.set_defaults(action=function)
    history.add_argument("--state", choices=["successful", "incomplete", "failed"], type=str.lower)

    logs = sub.add_parser("logs", help="a task's log, from the Cockpit (TASK from `tasks`)")
    logs.add_argument("task_id", type=int, metavar="TASK")
    logs.set_defaults(action="print_task_log")

    log = sub.add_parser("log", help="an order's log (its last run), from the Cockpit")
    log.add_argument("order_id", metavar="ORDER")
    log.add_argument("--json", action="store_true", help="JOC's log events, one per line")
    log.set_defaults(action="print_order_log")

    audit = sub.add_parser("audit", help="the Cockpit's audit log, newest first")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    audit.add_argument("--json", action="store_true", help="one entry per line as JOC's JSON")
    audit.set_defaults(action="print_audit")

    plan = sub.add_parser("daily-plan", help="the daily plan's orders of a date (or range), from the Cockpit")
    plan.add_argument("--date", help="the daily-plan date YYYY-MM-DD (default: today, local time)")
    plan.add_argument("--to", help="the last date of a range (default: --date)")
    plan.add_argument("--state", choices=["planned", "submitted", "finished"], help="only orders in this state")
    plan.add_argument("--json", action="store_true", help="one planned order per line as JOC's JSON")
    plan.set_defaults(action="print_daily_plan")

    switch = sub.add_parser(
        "switch-over", help="make the standby of a coupled Controller cluster (or of an Agent's Director pair) active"
    )
    switch.add_argument("--agent", metavar="AGENT_PATH", help="switch over this Agent's Director pair instead")
    switch.set_defaults(action="switch_over")

    confirm = sub.add_parser(
        "confirm-node-loss",
        help="tell a Cluster Watch that a Controller cluster node is really down",
        description=(
            "The Cluster Watch grants the next node-loss request about the node, even when it is untaught "
            "(restarted) or the node seemed alive. Use it only when the node is down for sure: else both "
            "nodes may become active. The global --ca/--cert/--key/--user options apply."
        ),
    )
    confirm.add_argument("--watch", required=True, metavar="URL", help="the Cluster Watch, e.g. https://host:4447")
    confirm.add_argument("--cluster-id", required=True, metavar="ID", help="the cluster (its Controller id)")
    confirm.add_argument("--lost-node", required=True, metavar="NODE", help="the node that is down: Primary or Backup")
    confirm.add_argument("--confirmer", required=True, metavar="NAME", help="who confirms (logged by the Watch)")
    # Its own `run`, overriding ctl's below: it talks to the Cluster Watch, not to a Controller.
    confirm.set_defaults(run=_run_confirm_node_loss)

    ctl.set_defaults(run=lambda args: run(args, ctl))


def _run_confirm_node_loss(args: argparse.Namespace) -> int:
    from js7es.nodes.cli.ctl.confirm import run_confirm_node_loss

    return run_confirm_node_loss(args)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """The action named by the parsed arguments, with a client of the Controller they name."""
    action: str | None = getattr(args, "action", None)
    if action is None:
        parser.print_help(sys.stderr)
        return 2
    from js7es.nodes.cli.ctl import commands
    from js7es.nodes.client.errors import ClientError, usage_error

    try:
        if args.cockpit or args.joc or os.environ.get("JS7ES_COCKPIT") or action in _COCKPIT_ONLY:
            from js7es.nodes.cli.ctl import joc

            return joc.run(args, action)
        if getattr(args, "comment", None) is not None:
            raise usage_error("--comment: the Controller keeps no audit log; add --cockpit URL or --joc")
        if getattr(args, "name", None) is not None:
            raise usage_error("--name: JOC's order name, through the Cockpit; add --cockpit URL or --joc (or use --id)")
        from js7es.nodes.cli.ctl.where import connection_from_args
        from js7es.nodes.client.controller import ControllerClient

        connection, tls = connection_from_args(args)
        with ControllerClient(connection, tls) as client:
            return int(getattr(commands, action)(client, args))
    except ClientError as e:
        print(f"js7es: {e}", file=sys.stderr)
        return e.exit_code


def _number(text: str) -> object:
    """A priority (JS7's BigDecimal): an int when whole, else an exact Decimal."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not number.is_finite():
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return int(number) if number == number.to_integral_value() else number
