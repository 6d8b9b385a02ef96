"""`ClusterWatchClient`: the client of the Cluster Watch's API (js7es/nodes/cluster_watch/api.py), for
``js7es ctl confirm-node-loss`` (js7es/nodes/cli/ctl/confirm.py)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.client.errors import ClientError, usage_error
from js7es.nodes.cluster_watch.api import PREFIX


class ClusterWatchClient(ControllerClient):
    """The Controller's client (TLS, session login, one-line errors), addressed to the Cluster Watch's API."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with self._transport():
                headers = {**self._headers(), **kwargs.pop("headers", {})}
                response = self._http.request(method, PREFIX + path, headers=headers, **kwargs)
            return self._answer(response)
        except ClientError as e:  # the transport's messages speak of "the Controller"
            raise ClientError(str(e).replace("the Controller", "the Cluster Watch"), e.exit_code) from None


def watch_url(text: str) -> str:
    url = text.rstrip("/").removesuffix(PREFIX)
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise usage_error(f"--watch {text!r}: expected a URL like https://host:4447")
    return url
