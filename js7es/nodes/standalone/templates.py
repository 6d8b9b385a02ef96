"""The nodes' configurations as the standalone writes them on its first start (edited freely after)."""

from __future__ import annotations

from js7es.nodes.standalone.layout import HOST


def controller_toml(port: int, admin_password_hash: str) -> str:
    return f"""\
# The Controller of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: js7es/nodes/config.py.
[controller]
id = "js7es"
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/controller/node.crt"
key = "../certs/controller/node.key"
ca = "../certs/ca/ca.crt"

# The password is in ../admin-password.
[users.admin]
password = "{admin_password_hash}"
permissions = ["SuperPermission"]

# `js7es ctl` logs in with the client certificate ../certs/cli/.
[users.cli]
distinguished-names = ["CN=cli"]
permissions = ["SuperPermission"]

# The Cockpit logs in with ../certs/cockpit/ and reads the event stream as a registered reader.
[users.cockpit]
distinguished-names = ["CN=cockpit"]
permissions = ["SuperPermission"]

[journal]
readers = ["cockpit"]
"""


def cockpit_toml(port: int, controller_port: int, admin_password_hash: str) -> str:
    return f"""\
# The Cockpit of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: deploy/config/cockpit.toml. Its database: ./cockpit.sqlite.
[cockpit]
id = "cockpit"
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/cockpit/node.crt"
key = "../certs/cockpit/node.key"
ca = "../certs/ca/ca.crt"

[controllers.js7es]
uris = ["https://{HOST}:{controller_port}"]

[users.admin]
password = "{admin_password_hash}"
permissions = ["SuperPermission"]
"""


def agent_toml(port: int) -> str:
    return f"""\
# The Agent of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: js7es/nodes/config.py.
[agent]
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/agent/node.crt"
key = "../certs/agent/node.key"
ca = "../certs/ca/ca.crt"

[users.controller]
distinguished-names = ["CN=controller"]
permissions = ["AgentDirector"]
"""
