"""``js7es ctl confirm-node-loss``: a person tells the Cluster Watch that a cluster node is really down.

It uses ctl's global connection options (``--ca``, ``--cert``, ``--key``, ``--user``, ``--password``, or the
standalone's certificates) with ``--watch URL`` instead of a Controller.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from typing import Any

from js7es.nodes.cluster_watch.api import PREFIX
from js7es.nodes.ctl import ControllerClient, CtlError, connection_from_args, usage_error


class ClusterWatchClient(ControllerClient):
    """ctl's client (TLS, session login, one-line errors), addressed to the Cluster Watch's API."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with self._transport():
                headers = {**self._headers(), **kwargs.pop("headers", {})}
                response = self._http.request(method, PREFIX + path, headers=headers, **kwargs)
            return self._answer(response)
        except CtlError as e:  # the transport's messages speak of "the Controller"
            raise CtlError(str(e).replace("the Controller", "the Cluster Watch"), e.exit_code) from None


def watch_url(text: str) -> str:
    url = text.rstrip("/").removesuffix(PREFIX)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise usage_error(f"--watch {text!r}: expected a URL like https://host:4447")
    return url


def confirm_node_loss(args: argparse.Namespace) -> int:
    for option, value in (
        ("--cluster-id", args.cluster_id),
        ("--lost-node", args.lost_node),
        ("--confirmer", args.confirmer),
    ):
        if not value.strip():
            raise usage_error(f"{option} must not be empty")
    url = watch_url(args.watch)
    # ctl's connection logic (certificates, password), pointed at the Watch
    connection = connection_from_args(argparse.Namespace(**{**vars(args), "controller": [url]}))
    with ClusterWatchClient(connection) as client:
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
    except CtlError as e:
        print(f"js7es: {e}", file=sys.stderr)
        return e.exit_code
