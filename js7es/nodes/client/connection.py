"""`ControllerConnection`: where one Controller is and how to log in there; `ClientTls`: the TLS files of
a client that are not its process's configuration (``--ca``, ``--cert``, ``--key``)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from js7es.nodes.client.errors import usage_error


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConnection:
    """A Controller: the URIs of its node (the two nodes of a Controller cluster, tried in this order:
    requests go to the active one), and a user and password when the client does not log in with its
    certificate. The TLS context — the client's own certificate — belongs to the process, not here.

    The Cockpit's ``[controllers.<id>]``, ``js7es export kafka --controller`` and ``js7es ctl
    --controller`` each make one."""

    uris: tuple[str, ...]  # scheme://host:port, without the API prefix
    controller_id: str = ""  # the Controller's id where the client knows it (the Cockpit's configuration)
    user: str | None = None
    password: str | None = None

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) for HTTP Basic authentication, when both are given."""
        if self.user is None or self.password is None:
            return None
        return (self.user, self.password)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientTls:
    """The CA that signed the Controller's certificate (None: the system's CAs) and the client
    certificate with its key (None: none, then a user logs in)."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """TLS 1.2 at least, strict X.509 checks; a missing or unusable file is a usage error."""
        for option, path in (("--ca", self.ca), ("--cert", self.cert), ("--key", self.key)):
            if path is not None and not path.is_file():
                raise usage_error(f"{path}: no such file ({option})")
        try:
            if self.ca is None:
                context = ssl.create_default_context()
            else:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.verify_flags |= ssl.VERIFY_X509_STRICT
            if self.cert is not None:
                context.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
        except (ssl.SSLError, OSError) as e:
            raise usage_error(f"cannot use the TLS files (--ca {self.ca}, --cert {self.cert}): {e}") from None
        return context
