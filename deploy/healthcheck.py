#!/usr/bin/env python3
"""The image's HEALTHCHECK (/usr/local/bin/js7es-healthcheck): GET the public health route of the js7es
node that this container runs.

    js7es-healthcheck                         # the node of the oldest `js7es …` process (the container's)
    js7es-healthcheck controller --config F   # or the node of this command line (for trying it out)

The node is found from its command line (`js7es controller|agent|cockpit|cluster-watch --config FILE`
or `js7es standalone --data-dir DIR`); its configuration gives the port and the TLS files. The request
goes to the node on the loopback interface with the node's own certificate as client certificate (the
nodes demand one; every js7es node certificate may act as a client) and trusts only the node's CA; the
host name is not checked, as nobody else answers on loopback. A standalone is healthy when each of its
nodes is. A Controller cluster's standby is healthy too (its health route answers "standby").

Standard library only, and no js7es import: it runs every few seconds and must stay cheap. Exit 0 when
healthy, 1 when not, with one line on stdout that `docker inspect` shows.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import tomllib
from pathlib import Path

TIMEOUT_S = 4.0
# kind -> (its API prefix, the default port of deploy/config/<kind>.toml)
NODES = {
    "controller": ("/controller/api", 4444),
    "agent": ("/agent/api", 4445),
    "cockpit": ("/cockpit/api", 4446),
    "cluster-watch": ("/cluster-watch/api", 4447),
}
STANDALONE_CONFIGS = (("controller", "controller/controller.toml"), ("agent", "agent/agent.toml"))
STANDALONE_OPTIONAL = (("cockpit", "cockpit/cockpit.toml"),)
COCKPIT_TOOLS = {"migrate", "rebuild", "digest"}


class Unhealthy(Exception):
    pass


def main(argv: list[str]) -> int:
    try:
        if argv:
            args, cwd = argv, Path.cwd()
        else:
            args, cwd = find_node_command()
        print(check(args, cwd))
        return 0
    except Unhealthy as e:
        print(f"unhealthy: {e}")
        return 1


def find_node_command() -> tuple[list[str], Path]:
    """The arguments after `js7es` of the oldest js7es process, and its working directory."""
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid())
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            continue  # gone meanwhile, or another user's
        args = js7es_arguments([a for a in argv if a])
        if args is not None:
            return args, cwd
    raise Unhealthy("no js7es process runs")


def js7es_arguments(argv: list[str]) -> list[str] | None:
    """What follows `js7es` (the console script) or `-m js7es.nodes.cli` in a command line."""
    for i, arg in enumerate(argv):
        if os.path.basename(arg) == "js7es" or (arg == "js7es.nodes.cli" and i > 0 and argv[i - 1] == "-m"):
            return argv[i + 1 :]
    return None


def check(args: list[str], cwd: Path) -> str:
    if not args:
        raise Unhealthy("js7es runs without a command")
    kind, rest = args[0], args[1:]
    if kind == "standalone":
        data_dir = cwd / option(rest, "--data-dir", "js7es-data")
        answers = []
        for name, file in (*STANDALONE_CONFIGS, *STANDALONE_OPTIONAL):
            config = data_dir / file
            if not config.is_file():
                if (name, file) in STANDALONE_CONFIGS:
                    raise Unhealthy(f"standalone: no {config} yet (first start still preparing?)")
                continue
            answers.append(f"{name} {health(name, config, insecure=False)}")
        return "standalone: " + "; ".join(answers)
    if kind not in NODES or (kind == "cockpit" and COCKPIT_TOOLS & set(rest)):
        return f"js7es {kind}: not a server, nothing to check"
    config_arg = option(rest, "--config", None)
    if config_arg is None:
        raise Unhealthy(f"js7es {kind} without --config")
    return f"{kind} {health(kind, cwd / config_arg, insecure='--insecure' in rest)}"


def option(args: list[str], name: str, default: str | None) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return default


def health(kind: str, config_file: Path, *, insecure: bool) -> str:
    prefix, default_port = NODES[kind]
    try:
        config = tomllib.loads(config_file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise Unhealthy(f"{config_file}: {e}") from None
    http_section = config.get("http", {})
    host = str(http_section.get("host", "127.0.0.1"))
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    port = int(http_section.get("port", default_port))
    if insecure:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    else:
        tls = config.get("tls", {})
        base = config_file.parent

        def path(key: str) -> str:
            if key not in tls:
                raise Unhealthy(f"{config_file}: no tls.{key}")
            return str(base / tls[key])

        try:
            context = ssl.create_default_context(cafile=path("ca"))
            context.check_hostname = False  # loopback; the CA is still checked
            context.load_cert_chain(path("cert"), path("key"))
        except OSError as e:  # ssl.SSLError too
            raise Unhealthy(f"{config_file}: TLS files: {e}") from None
        connection = http.client.HTTPSConnection(host, port, timeout=TIMEOUT_S, context=context)
    url = f"{'http' if insecure else 'https'}://{host}:{port}{prefix}/health"
    try:
        connection.request("GET", f"{prefix}/health")
        response = connection.getresponse()
        body = response.read(2000).decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        raise Unhealthy(f"{kind} at {url}: {e}") from None
    finally:
        connection.close()
    if response.status != 200:
        raise Unhealthy(f"{kind} at {url}: HTTP {response.status} {body}")
    try:
        status = json.loads(body).get("status", "?")
    except (ValueError, AttributeError):
        status = "?"
    return f"{status} at {url}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
