"""`js7es standalone`: a Controller, an Agent and the Cockpit on one data directory, as one process tree,
secure by default.

Layout of the data directory (everything is created on the first start and kept)::

    certs/ca/                     the private CA (ca.crt, ca.key)
    certs/{controller,agent,cockpit,cli}/   node certificates; "cli" is `js7es ctl`'s client certificate
    controller/controller.toml    the Controller's configuration (paths in it are relative to it)
    controller/state/             the Controller's journal
    agent/agent.toml, agent/state/, agent/work/
    logs/controller.log, logs/agent.log    what the nodes print
    admin-password                the password of the user "admin" (mode 0600), made on the first start
    standalone.json               what the first start did (the sample order), so that it is done once

Each start: certificates (`ensure_standalone_certificates`), configurations if missing, the nodes as
child processes (``python -m js7es.nodes.cli controller --config …``, each in its own process group so
that a terminal's Ctrl-C reaches only this process, which then stops them in order), a wait until every
node answers its health route, the sample items (js7es/nodes/samples/) deployed where the Controller
lacks them, the sample order on the first start only. Then it waits: SIGINT/SIGTERM stop the nodes
with SIGTERM (a second Ctrl-C kills them; their journals lose nothing), exit 0; a node that dies on its
own ends the standalone with the tail of its log and exit 1. The configurations are the truth for the
ports once written; ``--controller-port``/``--agent-port`` choose them on the first start.

The package: layout.py (the data directory, its lock, how ctl reaches its Controller), templates.py
(the nodes' first configurations), prepare.py (certificates, configurations, the admin password),
children.py (the node processes), samples.py (the sample items and order), supervisor.py (the run:
start, watch, stop). This module imports nothing: `js7es ctl` reads the layout without the rest.

Another node joins by adding a `Child` in `children.standalone_children`.
"""
