"""``js7es ctl confirm-node-loss``: a person tells the Cluster Watch that a cluster node is really down.

It uses ctl's global connection options (``--ca``, ``--cert``, ``--key``, ``--user``, ``--password``, or
the standalone's certificates) with ``--watch URL`` instead of a Controller.
"""

from __future__ import annotations

import argparse
import sys

from js7es.nodes.cli.ctl.where import connection_from_args
from js7es.nodes.client.errors import ClientError, usage_error


def confirm_node_loss(args: argparse.Namespace) -> int:
    from js7es.nodes.cluster_watch.client import ClusterWatchClient, watch_url

    for option, value in (
        ("--cluster-id", args.cluster_id),
        ("--lost-node", args.lost_node),
        ("--confirmer", args.confirmer),
    ):
        if not value.strip():
            raise usage_error(f"{option} must not be empty")
    url = watch_url(args.watch)
    # ctl's connection logic (certificates, password), pointed at the Watch
    connection, tls = connection_from_args(argparse.Namespace(**{**vars(args), "controller": [url]}))
    with ClusterWatchClient(connection, tls) as client:
        client.login()
        client.post(
            "/confirm-node-loss",
            {"clusterId": args.cluster_id, "lostNodeId": args.lost_node, "confirmer": args.confirmer},
        )
    print(
        f"Cluster Watch at {url}: {args.confirmer} confirmed that node {args.lost_node} of cluster "
        f"{args.cluster_id} is lost; the next node-loss request about {args.lost_node} will be granted"
    )
    return 0


def run_confirm_node_loss(args: argparse.Namespace) -> int:
    try:
        return confirm_node_loss(args)
    except ClientError as e:
        print(f"js7es: {e}", file=sys.stderr)
        return e.exit_code
