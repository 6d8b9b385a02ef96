"""Clients of the Controller's HTTP API (js7es/nodes/controller/api.py), light to import: httpx is
imported when a client is made.

- connection.py: `ControllerConnection`, where a Controller is (its cluster's nodes) and how to log in,
  one for the Cockpit, the Kafka exporter and `js7es ctl`; `ClientTls`, a client's TLS files;
- controller.py: `ControllerClient`, the synchronous client of `js7es ctl`, the standalone and the
  Cluster Watch's client: failover to the active node, session login, problems as one-line errors;
- errors.py: `ClientError`, with the exit code of the command it ends;
- http.py: the one HTTP client of js7es, for every caller of a node's API (ctl, the Controller's
  Agent client, the cluster's peer and Watch clients, the Cockpit, the exporter, the standalone):
  httpx clients with TLS and timeouts, problems decoded, `Unreachable`, ndjson lines, `Failover`;
- items.py: JS7's item files and one deployment of them.

The Cockpit's follower (asyncio) and the exporter's event stream (a raw stream for speed) read the
same API with loops of their own, built from the same `ControllerConnection` on http.py.
"""
