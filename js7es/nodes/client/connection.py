"""`ControllerConnection`: where one Controller is and how to log in there."""

from __future__ import annotations

from dataclasses import dataclass


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
