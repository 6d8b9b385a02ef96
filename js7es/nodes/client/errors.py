"""`ClientError`: how a client of the Controller (or of the Cluster Watch) fails, in one line."""

from __future__ import annotations

from js7es.nodes.errors import CliError


class ClientError(CliError, ValueError):
    """A failure of a client, with the exit code of a command that ends with it: 1 refused or
    unreachable, 2 bad usage or input. `elsewhere`: another node of a Controller cluster may answer.

    Also a ValueError, as the other errors of the command line are."""

    def __init__(self, message: str, exit_code: int = 1, *, elsewhere: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.elsewhere = elsewhere


def usage_error(message: str) -> ClientError:
    return ClientError(message, exit_code=2)
