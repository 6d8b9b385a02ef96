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

Through the Cockpit (`cockpit_from_args`): ``--cockpit URL`` (env ``JS7ES_COCKPIT``), else the
standalone's Cockpit (its ``cockpit/cockpit.toml``) with its CA; ``--user`` (default for the standalone:
``root``), the password from env ``JS7ES_PASSWORD``, ``--password``, the standalone's
``root-password`` file (root only) or a prompt on a terminal. One JOC login per call, logged out at
the end.
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


def _password(args: argparse.Namespace, user: str, first_password: Path | None) -> tuple[str, Path | None]:
    """The password of `user`: --password, env JS7ES_PASSWORD, `first_password` (the standalone's
    root-password file, for root), a prompt on a terminal; and the file it came from, if one."""
    if args.password is not None:
        return args.password, None
    if os.environ.get("JS7ES_PASSWORD") is not None:
        return os.environ["JS7ES_PASSWORD"], None
    if first_password is not None and first_password.is_file():
        text = first_password.read_text().strip()
        if text:
            return text, first_password
    if not sys.stdin.isatty():
        raise usage_error(f"--user {user}: no password (env JS7ES_PASSWORD, --password, or a terminal to ask on)")
    return getpass.getpass(f"Password of {user} at the Cockpit: "), None


def cockpit_from_args(args: argparse.Namespace) -> tuple[str, str, str, ClientTls, Path | None]:
    """Where the Cockpit is and who logs in there: (URL, user, password, TLS, the file the password
    came from). ``--cockpit URL`` (env JS7ES_COCKPIT) or the standalone's of --data-dir; ``--ca`` or the
    standalone's CA; ``--user`` (default root for a standalone, whose first password is in
    <data dir>/root-password)."""
    from js7es.nodes.client.cockpit import cockpit_url
    from js7es.nodes.standalone.layout import Layout, standalone_cockpit

    data_dir: Path = args.data_dir or Path(os.environ.get("JS7ES_DATA_DIR") or DEFAULT_DATA_DIR)
    given = args.cockpit or os.environ.get("JS7ES_COCKPIT") or None
    standalone = standalone_cockpit(data_dir)
    if given is not None:
        url = cockpit_url(given)
        if standalone is not None and standalone[0] != url:
            standalone = None  # another Cockpit: neither the standalone's CA nor its root password
    elif standalone is not None:
        url = standalone[0]
    else:
        raise usage_error(
            "no Cockpit given: use --cockpit URL, or --data-dir DIR of a js7es standalone "
            f"(there is none at {data_dir})"
        )
    if (args.cert is None) != (args.key is None):
        raise usage_error("--cert and --key belong together")
    if args.ca is not None or args.cert is not None:
        tls = ClientTls(ca=args.ca, cert=args.cert, key=args.key)
    else:
        tls = standalone[1] if standalone is not None else ClientTls()
    user = args.user
    if user is None:
        if standalone is None:
            raise usage_error("--cockpit: who logs in? give --user (password from env JS7ES_PASSWORD or a prompt)")
        user = "root"
    first_password = Layout(data_dir).root_password if standalone is not None and user == "root" else None
    password, from_file = _password(args, user, first_password)
    return url, user, password, tls, from_file
