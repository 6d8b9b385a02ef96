"""Each start of the standalone: certificates, configurations and the admin password; what is there is kept."""

from __future__ import annotations

import os
import secrets
import socket
import string
from dataclasses import dataclass
from pathlib import Path

from js7es.nodes.standalone.layout import (
    DEFAULT_AGENT_PORT,
    DEFAULT_COCKPIT_PORT,
    DEFAULT_CONTROLLER_PORT,
    HOST,
    STANDALONE_CERTIFICATES,
    Layout,
    StandaloneError,
    write_new,
)
from js7es.nodes.standalone.templates import agent_toml, cockpit_toml, controller_toml


@dataclass(frozen=True, slots=True)
class Prepared:
    controller_port: int
    agent_port: int
    admin_password: str | None  # set on the start that created it: shown once
    first_start: bool
    root_password: str | None = None  # the Cockpit's account root: set on the start that created it
    cockpit_port: int | None = None


def prepare(layout: Layout, controller_port: int | None, agent_port: int | None) -> Prepared:
    """Certificates, configurations and the admin password; what is there is kept."""
    from js7es.nodes.certs import ensure_standalone_certificates
    from js7es.nodes.config import ConfigError, load_settings

    first_start = not layout.controller_config.exists()
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_standalone_certificates(layout.data_dir, nodes=STANDALONE_CERTIFICATES)
    shown_password = None
    if not layout.controller_config.exists():
        password = _read_password(layout.admin_password)
        if password is None:
            alphabet = string.ascii_letters + string.digits  # no '-' first: it would look like an option
            password = shown_password = "".join(secrets.choice(alphabet) for _ in range(20))
            _write_private(layout.admin_password, password + "\n")
        from js7es.nodes.http.auth import hash_password

        port = controller_port or DEFAULT_CONTROLLER_PORT
        password_hash = hash_password(password)
        write_new(layout.controller_config, controller_toml(port, password_hash))
        if not layout.cockpit_config.exists():
            cockpit_port = _free_port(DEFAULT_COCKPIT_PORT if controller_port is None else port + 2)
            write_new(layout.cockpit_config, cockpit_toml(cockpit_port, port, password_hash))
    if not layout.agent_config.exists():
        write_new(layout.agent_config, agent_toml(agent_port or DEFAULT_AGENT_PORT))
    shown_root_password = _prepare_root(layout)
    ports = []
    for config, kind, wanted, option in (
        (layout.controller_config, "controller", controller_port, "--controller-port"),
        (layout.agent_config, "agent", agent_port, "--agent-port"),
    ):
        try:
            settings = load_settings(config, kind)
        except ConfigError as e:
            raise StandaloneError(str(e)) from None
        if settings.tls is None:
            raise StandaloneError(f"{config}: the standalone runs its nodes with TLS; restore the [tls] section")
        if wanted is not None and wanted != settings.http.port:
            raise StandaloneError(
                f"{option} {wanted}, but {config} says port {settings.http.port}: edit the file "
                f"(the configuration decides once written) or leave out {option}"
            )
        ports.append(settings.http.port)
    configured_cockpit_port: int | None = None
    if layout.cockpit_config.exists():  # data directories of before the Cockpit run without it
        import tomllib

        configured_cockpit_port = int(tomllib.loads(layout.cockpit_config.read_text())["http"]["port"])
    if ports[0] == ports[1]:
        raise StandaloneError(f"the Controller and the Agent cannot both use port {ports[0]}")
    return Prepared(
        controller_port=ports[0],
        agent_port=ports[1],
        admin_password=shown_password,
        first_start=first_start,
        root_password=shown_root_password,
        cockpit_port=configured_cockpit_port,
    )


def _free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free port (chosen once, kept in the file)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _prepare_root(layout: Layout) -> str | None:
    """The Cockpit's account root: a random first password (kept in root-password, shown once), its
    argon2id hash in cockpit.toml's [joc] for the Cockpit store's first start. A data directory of before
    the Cockpit store gets the section too, as long as its store does not exist yet."""
    if not layout.cockpit_config.exists() or layout.cockpit_store.exists():
        return None
    text = layout.cockpit_config.read_text()
    if "\n[joc]" in "\n" + text:
        return None
    password = _read_password(layout.root_password)
    shown = None
    if password is None:
        alphabet = string.ascii_letters + string.digits
        password = shown = "".join(secrets.choice(alphabet) for _ in range(20))
        _write_private(layout.root_password, password + "\n")
    from js7es.nodes.cockpit.api.passwords import hash_password

    section = (
        "\n# The Cockpit account root's first password (../root-password); the Cockpit store keeps it from then on.\n"
        f'[joc]\nroot-password-hash = "{hash_password(password)}"\n'
    )
    layout.cockpit_config.write_text(text.rstrip("\n") + "\n" + section)
    return shown


def _read_password(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
