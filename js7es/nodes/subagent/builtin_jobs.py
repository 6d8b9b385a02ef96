"""Jobs that come with js7es, for InternalExecutable: `"className": "js7es.nodes.subagent.builtin_jobs:sleep"`.

They double as examples of the contract (see `internal.py`): take a JobContext, return None, an int
or named values, raise JobError to fail with a message, watch `context.killed` while waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from js7es.domain.value import Value
from js7es.nodes.subagent.internal import JobContext, JobError


def empty(context: JobContext) -> None:
    """Succeeds at once (JS7's js7.tests.jobs.EmptyJob)."""


def sleep(context: JobContext) -> Mapping[str, Value] | None:
    """Sleeps for the argument `seconds` (default 1), ending early when killed."""
    seconds = context.arguments.get("seconds", 1)
    if not isinstance(seconds, (int, Decimal)) or isinstance(seconds, bool) or seconds < 0:
        raise JobError(f"Argument 'seconds' must be a non-negative number, not {seconds!r}")
    context.killed.wait(float(seconds))
    return None


def fail(context: JobContext) -> int:
    """Fails: with the argument `returnCode` when it is a number, else with the argument `message`."""
    return_code = context.arguments.get("returnCode")
    if isinstance(return_code, int) and not isinstance(return_code, bool):
        return return_code
    raise JobError(str(context.arguments.get("message") or "Failed"))


def echo(context: JobContext) -> Mapping[str, Value]:
    """Writes the argument `text` (default empty) and a newline to stdout and returns it as `text`."""
    text = context.arguments.get("text", "")
    text = text if isinstance(text, str) else str(text)
    context.write_stdout(text + "\n")
    return {"text": text}
