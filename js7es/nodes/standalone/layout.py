"""The standalone's data directory: where everything is (`Layout`), one standalone at a time on it
(`exclusive`), and how a client reaches its Controller (`standalone_connection`) and its Cockpit
(`standalone_cockpit`). Light: `js7es ctl` imports it to find them."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.errors import usage_error
from js7es.nodes.errors import CliError

DEFAULT_CONTROLLER_PORT = 4444
DEFAULT_AGENT_PORT = 4445
DEFAULT_COCKPIT_PORT = 4446
HOST = "127.0.0.1"
STANDALONE_CERTIFICATES = ("controller", "agent", "cockpit", "cli")


class StandaloneError(CliError, ValueError):
    """Refused to start (bad options, data directory in use, a port taken): one line, exit 2."""


@dataclass(frozen=True, slots=True)
class Layout:
    data_dir: Path

    @property
    def certs(self) -> Path:
        return self.data_dir / "certs"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def controller_config(self) -> Path:
        return self.data_dir / "controller" / "controller.toml"

    @property
    def agent_config(self) -> Path:
        return self.data_dir / "agent" / "agent.toml"

    @property
    def cockpit_config(self) -> Path:
        return self.data_dir / "cockpit" / "cockpit.toml"

    @property
    def admin_password(self) -> Path:
        return self.data_dir / "admin-password"

    @property
    def root_password(self) -> Path:
        """The Cockpit account root's first password (the Cockpit store keeps its hash; change it there)."""
        return self.data_dir / "root-password"

    @property
    def cockpit_store(self) -> Path:
        return self.data_dir / "cockpit" / "cockpit-store.sqlite"

    @property
    def memo(self) -> Path:
        return self.data_dir / "standalone.json"

    def cli_tls(self) -> ClientTls:
        """`js7es ctl`'s TLS: the standalone's CA and its client certificate ``cli``."""
        certs = self.certs
        return ClientTls(ca=certs / "ca" / "ca.crt", cert=certs / "cli" / "node.crt", key=certs / "cli" / "node.key")


def standalone_connection(data_dir: Path) -> tuple[ControllerConnection, ClientTls] | None:
    """The Controller of `js7es standalone` on `data_dir` with its client certificate ``cli``, or None."""
    layout = Layout(data_dir)
    config = layout.controller_config
    if not config.is_file():
        return None
    from js7es.nodes.config import ConfigError, load_settings

    try:
        settings = load_settings(config, "controller")
    except ConfigError as e:
        raise usage_error(str(e)) from None
    host = settings.http.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls is not None else "http"
    connection = ControllerConnection(uris=(f"{scheme}://{host}:{settings.http.port}",))
    return connection, layout.cli_tls() if settings.tls is not None else ClientTls()


def standalone_cockpit(data_dir: Path) -> tuple[str, ClientTls] | None:
    """The URL (``scheme://host:port``) of the Cockpit of `js7es standalone` on `data_dir` and the CA to
    check its certificate, or None (no standalone there, or one of before the Cockpit)."""
    import tomllib

    config = Layout(data_dir).cockpit_config
    if not config.is_file():
        return None
    try:
        settings = tomllib.loads(config.read_text())
        host, port = str(settings["http"].get("host", HOST)), int(settings["http"]["port"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise usage_error(f"{config}: no Cockpit URL in it ({type(e).__name__}: {e})") from None
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    if "tls" not in settings:
        return f"http://{host}:{port}", ClientTls()
    return f"https://{host}:{port}", ClientTls(ca=Layout(data_dir).certs / "ca" / "ca.crt")


@contextlib.contextmanager
def exclusive(layout: Layout) -> Iterator[None]:
    """One standalone per data directory: two would write the same journals."""
    lock_file = layout.data_dir / ".standalone.lock"
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StandaloneError(f"{layout.data_dir}: another js7es standalone runs on this data directory") from None
        yield


def write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
