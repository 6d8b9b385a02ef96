"""Items for the Controller's API: JS7's item files (``<folder>/<name>.workflow.json`` as JS7 exports
them, ``*.agent.json``, ``*.subagent.json``, ``*.jobresource.json``, ``*.calendar.json``) and one
deployment of them (``POST /controller/api/item``: AddVersion and AddOrChangeSimple operations).

``*.calendar.json`` names two different things: here, as in JS7's samples (``jocDailyPlan.calendar.json``),
the Controller's Calendar item (``orderIdPattern``, ``periodDatePattern``, ``dateOffset``: how a Cycle
reads an order's day out of its id); in a JOC inventory archive, a working-day or non-working-day
calendar (``type``, ``includes``, ``excludes``: which days a schedule plans), which stays in the Cockpit
(its inventory import, js7es.nodes.cockpit.api.transfer) and is never deployed to a Controller. A file of
that second kind is refused here with a message that says so."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from js7es.domain.value import loads
from js7es.nodes.client.errors import usage_error

_KINDS = (  # file name suffix -> item TYPE, the key naming it
    (".workflow.json", "Workflow", "path"),
    (".agentref.json", "AgentRef", "path"),
    (".agent.json", "AgentRef", "path"),
    (".subagent.json", "SubagentItem", "id"),
    (".subagentitem.json", "SubagentItem", "id"),
    (".subagentbundle.json", "SubagentBundle", "id"),
    (".subagentselection.json", "SubagentBundle", "id"),  # JS7's name up to 2.7.1
    (".jobresource.json", "JobResource", "path"),
    (".calendar.json", "Calendar", "path"),
    (".noticeboard.json", "GlobalBoard", "path"),  # JOC's export; boardType PLANNABLE: a PlannableBoard
    (".board.json", "GlobalBoard", "path"),
    (".fileordersource.json", "FileWatch", "path"),  # JOC's name for a FileWatch
    (".filewatch.json", "FileWatch", "path"),
)
_KEY_OF_TYPE = {
    "Workflow": "path",
    "AgentRef": "path",
    "SubagentItem": "id",
    "SubagentBundle": "id",
    "SubagentSelection": "id",
    "JobResource": "path",
    "Calendar": "path",
    "GlobalBoard": "path",
    "PlannableBoard": "path",
    "FileWatch": "path",
}
_BOARD_TYPES = ("GlobalBoard", "PlannableBoard", "Board")
_JOC_CALENDAR_TYPES = ("WORKINGDAYSCALENDAR", "NONWORKINGDAYSCALENDAR")


def read_item_file(path: Path) -> dict[str, Any]:
    """An item from a JS7 item file: the TYPE and path (or id) from the file name when missing,
    as in JS7's exports (``<folder>/<name>.workflow.json``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise usage_error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise usage_error(f"{path}: cannot read it: {e}") from None
    try:
        item = loads(text)
    except ValueError as e:
        raise usage_error(f"{path}: not valid JSON: {e}") from None
    if not isinstance(item, dict):
        raise usage_error(f"{path}: expected a JSON object (one item)")
    name = path.name.lower()
    kind = next(((suffix, t, key) for suffix, t, key in _KINDS if name.endswith(suffix)), None)
    type_ = item.get("TYPE")
    if kind is None:
        if type_ not in _KEY_OF_TYPE and not (type_ is None and "instructions" in item):
            raise usage_error(
                f"{path}: unknown item kind; name it *.workflow.json, *.agent.json, *.subagent.json, "
                "*.subagentbundle.json, *.jobresource.json, *.calendar.json, *.noticeboard.json or "
                f"*.fileordersource.json, or give it a TYPE "
                f"({', '.join(_KEY_OF_TYPE)})"
            )
        suffix, type_, key = ".json", type_ or "Workflow", _KEY_OF_TYPE[type_ or "Workflow"]
    else:
        suffix, expected, key = kind
        if expected == "GlobalBoard":  # a notice board of either kind
            plannable = item.pop("boardType", None) == "PLANNABLE"
            expected = str(type_) if type_ in _BOARD_TYPES else "PlannableBoard" if plannable else expected
        if expected == "SubagentBundle" and type_ == "SubagentSelection":  # JS7's name up to 2.7.1
            type_ = expected
        if type_ is not None and type_ != expected:
            raise usage_error(f"{path}: the file name says {expected}, its TYPE says {type_}")
        type_ = expected
    if type_ == "Calendar" and _is_joc_inventory_calendar(item):
        raise usage_error(
            f"{path}: a JOC inventory calendar (working or non-working days), not a Controller Calendar item "
            "(orderIdPattern, periodDatePattern): import it into the Cockpit's inventory instead"
        )
    if type_ == "Workflow" and not isinstance(item.get("instructions"), list):
        raise usage_error(f"{path}: a workflow needs a list of instructions")
    if type_ != "Workflow":
        item = {"TYPE": type_, **{k: v for k, v in item.items() if k != "TYPE"}}
    if key not in item:
        item[key] = path.name[: -len(suffix)]
    return item


def _is_joc_inventory_calendar(item: dict[str, Any]) -> bool:
    return item.get("type") in _JOC_CALENDAR_TYPES or any(k in item for k in ("includes", "excludes"))


def deploy_operations(items: Sequence[dict[str, Any]], version_id: str) -> list[dict[str, Any]]:
    """One deployment: AddVersion (when there are workflows) and an AddOrChangeSimple per item."""
    operations: list[dict[str, Any]] = []
    if any("instructions" in item for item in items):
        operations.append({"TYPE": "AddVersion", "versionId": version_id})
    operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]
    return operations


def new_version_id() -> str:
    return f"{datetime.datetime.now(datetime.UTC):%Y-%m-%dT%H-%M-%SZ}-{secrets.token_hex(2)}"
