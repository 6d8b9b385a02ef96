"""Where ``js7es ctl`` finds the Controller and how it logs in, from its options (first match wins):

- ``--controller URL`` (env ``JS7ES_CONTROLLER``); without it, the standalone data directory
  (``--data-dir``, env ``JS7ES_DATA_DIR``, default ``./js7es-data``) tells the URL from its
  ``controller/controller.toml``. ``--controller`` twice: the two nodes of a Controller cluster;
- TLS: ``--ca FILE`` (the CA that signed the Controller's certificate) and the client certificate
  ``--cert FILE --key FILE``; without them, the standalone's CA and its client certificate ``cli``
  (``<data dir>/certs/``) when that directory exists;
- ``--user NAME`` with ``--password`` (env ``JS7ES_PASSWORD``, or asked for on a terminal): one
  session login (JS7's Login command) per call, logged out at the end. Without a user, the client
  certificate is the login (the Controller maps its subject to a user, ``cli`` in the standalone).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import urllib.parse
from pathlib import Path

from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.errors import usage_error

PREFIX = "/controller/api"
DEFAULT_DATA_DIR = Path("js7es-data")


def connection_from_args(args: argparse.Namespace) -> tuple[ControllerConnection, ClientTls]:
    from js7es.nodes.standalone.layout import standalone_connection

    data_dir: Path = args.data_dir or Path(os.environ.get("JS7ES_DATA_DIR") or DEFAULT_DATA_DIR)
    controllers: list[str] = args.controller or (
        [os.environ["JS7ES_CONTROLLER"]] if os.environ.get("JS7ES_CONTROLLER") else []
    )
    standalone = None
    if not controllers or (args.ca is None and args.cert is None):
        standalone = standalone_connection(data_dir)
    urls: list[str] = []
    for given in controllers:
        candidate = given.rstrip("/").removesuffix(PREFIX)
        parsed = urllib.parse.urlsplit(candidate)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise usage_error(f"--controller {given!r}: expected a URL like https://host:4444")
        urls.append(candidate)
    if not urls:
        if standalone is None:
            raise usage_error(
                f"no Controller given: use --controller URL, or --data-dir DIR of a js7es standalone "
                f"(there is none at {data_dir})"
            )
        urls = list(standalone[0].uris)
    if args.cert is not None or args.ca is not None:
        if (args.cert is None) != (args.key is None):
            raise usage_error("--cert and --key belong together")
        tls = ClientTls(ca=args.ca, cert=args.cert, key=args.key)
    elif standalone is not None:
        tls = standalone[1]
    else:
        tls = ClientTls()
    password = None
    if args.user is not None:
        password = args.password if args.password is not None else os.environ.get("JS7ES_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise usage_error(f"--user {args.user}: no password (--password or env JS7ES_PASSWORD)")
            password = getpass.getpass(f"Password of {args.user}: ")
    return ControllerConnection(uris=tuple(urls), user=args.user, password=password), tls
