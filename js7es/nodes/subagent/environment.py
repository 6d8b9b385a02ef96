"""The environment of a job process and the return values it leaves behind (JS7_RETURN_VALUES).

A job does not inherit the Agent's whole environment (which may hold the Agent's secrets); it gets
a clean base of the variables below, copied from the Agent's environment where set, then
JS7_ORDER_ID, JS7_WORKFLOW_NAME, JS7_JOB_NAME, with `v1Compatible` also SCHEDULER_PARAM_<NAME> for
each argument, then the step's `env` (job env, job resources, JS7_ARG_*), and last the return values
file, which the job cannot override: JS7_RETURN_VALUES, or SCHEDULER_RETURN_VALUES with
`v1Compatible` (as JS7's ShellReturnValuesProvider).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from js7es.domain.order.job_step import env_string
from js7es.domain.value import NamedValues, Value

BASE_ENV_NAMES = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_NUMERIC",
    "LC_TIME",
    "TZ",
    "TMPDIR",
    "HOSTNAME",
)
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
RETURN_VALUES_VAR = "JS7_RETURN_VALUES"
V1_RETURN_VALUES_VAR = "SCHEDULER_RETURN_VALUES"
V1_PARAM_PREFIX = "SCHEDULER_PARAM_"

_LINE = re.compile(r"([^=]+)=(.*)")


def base_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables every job inherits from the Agent's own environment."""
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in BASE_ENV_NAMES if name in source}
    env.setdefault("PATH", DEFAULT_PATH)
    return env


def job_env(
    base: Mapping[str, str],
    *,
    order_id: str,
    workflow_path: str | None,
    job_name: str | None,
    arguments: Mapping[str, Value],
    env: Mapping[str, str],
    return_values_file: Path | str | None,
    v1_compatible: bool,
) -> dict[str, str]:
    result = dict(base)
    result["JS7_ORDER_ID"] = order_id
    if workflow_path is not None:
        result["JS7_WORKFLOW_NAME"] = workflow_path
    if job_name is not None:
        result["JS7_JOB_NAME"] = job_name
    if v1_compatible:
        for name, value in arguments.items():
            if value is not None:
                result[V1_PARAM_PREFIX + name.upper()] = env_string(value)
    result.update(env)
    if return_values_file is not None:
        result[V1_RETURN_VALUES_VAR if v1_compatible else RETURN_VALUES_VAR] = str(return_values_file)
    return result


class ReturnValuesError(ValueError):
    pass


def read_return_values(path: Path | str) -> NamedValues:
    """`name=value` lines, both sides trimmed, as strings (JS7: StringValue); blank lines are skipped.

    No file means no values: the job need not write it, so it is not even created before the start.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as file:  # no pathlib per job step
            text = file.read()
    except FileNotFoundError:
        return {}
    values: dict[str, Value] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None or not match.group(1).strip():
            raise ReturnValuesError(f"Not the expected syntax NAME=VALUE in the return values file: {line[:200]!r}")
        values[match.group(1).strip()] = match.group(2).strip()
    return values
