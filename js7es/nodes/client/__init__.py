"""Clients of the Controller's HTTP API (js7es/nodes/controller/api.py), light to import: httpx is
imported when a client is made.

- connection.py: `ControllerConnection`, where a Controller is (its cluster's nodes) and how to log in,
  one for the Cockpit, the Kafka exporter and `js7es ctl`; `ClientTls`, a client's TLS files;
- controller.py: `ControllerClient`, the synchronous client of `js7es ctl`, the standalone and the
  Cluster Watch's client: failover to the active node, session login, problems as one-line errors;
- errors.py: `ClientError`, with the exit code of the command it ends;
- items.py: JS7's item files and one deployment of them.

The Cockpit's follower and the exporter's event stream read the same API with clients of their own
(asyncio, and a raw stream for speed), built from the same `ControllerConnection`.
"""
