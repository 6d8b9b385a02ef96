"""JOC's LOCK and FILEORDERSOURCE drafts as the Controller's items: a `Lock` and a `FileWatch`.

JOC's inventory JSON (js7-inventory-schemas `lock/lock-schema.json`, sos-components' inventory model
`FileOrderSource`) carries JOC-only fields (title, documentationName, version) that JOC leaves out when it
signs the item; the Controller's JSON is JS7's (`Lock {path, limit}`, `FileWatch {path, workflowPath,
agentPath, directoryExpr, pattern, orderIdExpression, delay}`; with JOC 2.8's `priority` the order id and
the priority go in JS7 2.8's `orderExpr` {orderId, priority} instead).

A FileWatch's order id is JOC's: ``#<date in the source's time zone>#F<epoch second>-<source name>:<file
name>`` (KB "JS7 - File Watching"; JS7's FileWatchScope gives `$js7EpochSecond`, `$orderWatchPath` and the
pattern's groups `$0…`). JOC's older `directory` (a plain path) becomes a string constant, as JOC's
JsonSerializer does when it reads an older draft. A field neither JOC nor JS7 knows makes the draft invalid
(a typo must not pass as a no-op).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from js7es.domain.lock import parse_lock
from js7es.domain.problem import Problem
from js7es.domain.workflow.parse import _Refused as Refused
from js7es.domain.workflow.parse import check_expression, valid_name

# JOC's inventory fields that do not go to the Controller.
_JOC_ONLY: Final = frozenset({"TYPE", "path", "version", "title", "documentationName", "documentationPath"})
_LOCK_FIELDS: Final = _JOC_ONLY | {"limit"}
# JOC's field names, with the aliases JOC reads (workflowPath, agentId, agentPath); `tags` are JOC's order
# tags of the file orders, kept in JOC's database only.
_FILE_ORDER_SOURCE_FIELDS: Final = _JOC_ONLY | {
    "workflowName", "workflowPath", "agentName", "agentId", "agentPath", "directoryExpr", "directory",
    "pattern", "timeZone", "delay", "priority", "tags",
}  # fmt: skip
DEFAULT_TIME_ZONE: Final = "Etc/UTC"


class InvalidDraft(ValueError):
    """Why a draft cannot become a Controller item (JOC's invalidMsg)."""


def lock_item(name: str, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """JOC's lock draft as JS7's Lock (limit 1 when not given, as JS7)."""
    _no_unknown_fields("Lock", configuration, _LOCK_FIELDS)
    item: dict[str, Any] = {"TYPE": "Lock", "path": name, "limit": configuration.get("limit", 1)}
    parsed = parse_lock(item, name)
    if isinstance(parsed, Problem):
        raise InvalidDraft(parsed.message)
    return item


def file_watch_item(name: str, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """JOC's file order source draft as JS7's FileWatch."""
    _no_unknown_fields("FileOrderSource", configuration, _FILE_ORDER_SOURCE_FIELDS)
    where = f"FileOrderSource {name}"
    workflow = _name_of(_first(configuration, "workflowName", "workflowPath"), f"{where}: workflowName")
    agent = _name_of(_first(configuration, "agentName", "agentId", "agentPath"), f"{where}: agentName")
    directory_expr = configuration.get("directoryExpr")
    if directory_expr in (None, ""):
        directory = configuration.get("directory")
        if not isinstance(directory, str) or not directory:
            raise InvalidDraft(f"{where}: directoryExpr (or directory) is required")
        directory_expr = string_constant(directory)
    item: dict[str, Any] = {
        "TYPE": "FileWatch",
        "path": name,
        "workflowPath": workflow,
        "agentPath": agent,
        "directoryExpr": _expression(directory_expr, f"{where}: directoryExpr"),
    }
    pattern = configuration.get("pattern")
    if pattern not in (None, ""):
        if not isinstance(pattern, str):
            raise InvalidDraft(f"{where}: pattern must be a string (a Java regular expression)")
        item["pattern"] = pattern
    time_zone = configuration.get("timeZone") or DEFAULT_TIME_ZONE
    if not isinstance(time_zone, str) or "'" in time_zone:
        raise InvalidDraft(f"{where}: timeZone must be a time zone name like Europe/Berlin")
    order_id = order_id_expression(time_zone)
    priority = configuration.get("priority")
    if priority is None:
        item["orderIdExpression"] = _expression(order_id, f"{where}: timeZone")
    elif isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidDraft(f"{where}: priority must be a whole number")
    else:  # JS7 2.8's orderExpr: the order id and the priority of the file's order
        item["orderExpr"] = _expression(f"{{orderId: {order_id}, priority: {priority}}}", f"{where}: timeZone")
    delay = configuration.get("delay")
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise InvalidDraft(f"{where}: delay must be a number of seconds >= 0")
        item["delay"] = delay
    return item


def order_id_expression(time_zone: str) -> str:
    """JOC's order id of a file order: #date#F<epoch second>-<file order source>:<file name>."""
    return f"'#' ++ now(format='yyyy-MM-dd', timezone='{time_zone}') ++ \"#F$js7EpochSecond-$orderWatchPath:$0\""


def string_constant(text: str) -> str:
    """`text` as a JS7 string constant: single-quoted (no escapes there) unless it holds a quote."""
    if "'" not in text:
        return f"'{text}'"
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def _no_unknown_fields(what: str, configuration: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(configuration) - known)
    if unknown:
        raise InvalidDraft(f"{what}: unknown field(s) {unknown}")


def _first(configuration: Mapping[str, Any], *names: str) -> Any:
    return next((configuration[n] for n in names if configuration.get(n) not in (None, "")), None)


def _name_of(value: Any, where: str) -> str:
    """A JS7 name; JOC accepts a path (/folder/name) and deploys its name."""
    name = value.rsplit("/", 1)[-1] if isinstance(value, str) else value
    if not valid_name(name):
        raise InvalidDraft(f"{where}: a name is required, not {value!r}")
    assert isinstance(name, str)
    return name


def _expression(text: Any, where: str) -> str:
    if not isinstance(text, str):
        raise InvalidDraft(f"{where}: an expression (a string) is required")
    try:
        return str(check_expression(text, where))
    except Refused as refused:
        raise InvalidDraft(refused.problem.message) from None
