"""`ClientError`: how a client of the Controller (or of the Cluster Watch) fails, in one line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7es.nodes.errors import CliError

if TYPE_CHECKING:
    from js7es.domain.problem import Problem


class ClientError(CliError, ValueError):
    """A failure of a client, with the exit code of a command that ends with it: 1 refused or
    unreachable, 2 bad usage or input. `elsewhere`: another node of a Controller cluster may answer.

    `problem`: the node's coded problem when it answered with one (it refused); None when it did not
    answer. `in_doubt`: the request went out but no answer came (a timeout): it may have been done.

    Also a ValueError, as the other errors of the command line are."""

    def __init__(
        self,
        message: str,
        exit_code: int = 1,
        *,
        elsewhere: bool = False,
        problem: Problem | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.elsewhere = elsewhere
        self.problem = problem
        self.in_doubt = in_doubt


def usage_error(message: str) -> ClientError:
    return ClientError(message, exit_code=2)
