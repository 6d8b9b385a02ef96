"""``js7es ctl``: a command-line client of the Controller's HTTP API (js7es/nodes/controller/api.py).

Where the Controller is and how ctl logs in: where.py. The client: js7es/nodes/client/. The actions:
commands.py (what they print: output.py); ``confirm-node-loss`` talks to a Cluster Watch (confirm.py).
This module registers the command (argparse only); the rest is imported when ctl runs.

Exit codes: 0 done; 1 the Controller refused (its problem printed as ``code: message``) or could not
be reached or the TLS handshake failed; 2 bad usage or input (a missing or malformed file, a bad
argument). Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from js7es.nodes.cli.types import Subparsers


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
    where.add_argument("--user", help="log in as this user (password from --password or env JS7ES_PASSWORD)")
    where.add_argument("--password", help="the user's password (prefer env JS7ES_PASSWORD)")
    sub = ctl.add_subparsers(metavar="ACTION")

    deploy = sub.add_parser("deploy", help="deploy item files, all or nothing (*.workflow.json, *.agent.json, ...)")
    deploy.add_argument("files", nargs="+", metavar="FILE")
    deploy.add_argument("--version-id", help="the workflows' versionId (default: generated)")
    deploy.set_defaults(action="deploy_items")

    add = sub.add_parser("add-order", help="add an order to a workflow")
    add.add_argument("workflow", metavar="WORKFLOW")
    add.add_argument("--id", help="the order id (default: generated, JS7-like)")
    add.add_argument(
        "--arg", action="append", metavar="NAME=VALUE", help='an argument; VALUE is JSON if it parses (3, true, "3")'
    )
    add.add_argument("--at", metavar="TIME", help="start at an ISO time (local without a zone) or in +SECONDS")
    add.set_defaults(action="add_order")

    for name, function, text in (
        ("cancel", "cancel_orders", "cancel orders"),
        ("suspend", "suspend_orders", "suspend orders"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("ids", nargs="+", metavar="ID")
        p.add_argument("--kill", action="store_true", help="kill a running job process (SIGTERM, then SIGKILL)")
        p.add_argument("--kill-immediately", action="store_true", help="kill a running job process with SIGKILL")
        p.set_defaults(action=function)

    resume = sub.add_parser("resume", help="resume a suspended or failed order")
    resume.add_argument("id", metavar="ID")
    resume.add_argument("--position", metavar="JSON", help='continue at this position, e.g. 2 or [1, "then", 0]')
    resume.set_defaults(action="resume_order")

    answer = sub.add_parser("answer", help="answer an order's prompt")
    answer.add_argument("id", metavar="ID")
    answer.set_defaults(action="answer_prompt")

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

    switch = sub.add_parser("switch-over", help="make the standby of a coupled Controller cluster the active node")
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
    from js7es.nodes.cli.ctl.where import connection_from_args
    from js7es.nodes.client.controller import ControllerClient
    from js7es.nodes.client.errors import ClientError

    try:
        connection, tls = connection_from_args(args)
        with ControllerClient(connection, tls) as client:
            return int(getattr(commands, action)(client, args))
    except ClientError as e:
        print(f"js7es: {e}", file=sys.stderr)
        return e.exit_code
