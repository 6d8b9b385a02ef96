"""Clients of the Controller's HTTP API (js7es/nodes/controller/api.py), light to import: httpx is
imported when a client is made.

- connection.py: `ControllerConnection`, where a Controller is (its cluster's nodes) and how to log in;
- controller.py: `ControllerClient`, the synchronous client of `js7es ctl`, the standalone and the
  Cluster Watch's confirm-node-loss: failover to the active node, session login, problems as
  one-line `ClientError`s.
"""
