"""Inventory items besides workflows: agent refs, subagents, job resources, calendars, locks; and the
item events.

Keys as JS7 writes them: "Workflow:path~version", "AgentRef:path", "SubagentItem:id",
"SubagentBundle:id" (JS7's SubagentBundle, formerly SubagentSelection), "JobResource:path",
"Calendar:path", "Board:path" (GlobalBoard and PlannableBoard, js7es.domain.board.item), "Lock:path",
"WorkflowPathControl:path" (js7es.domain.workflow_control), "OrderWatch:path" (FileWatch,
js7es.domain.orderwatch).
Workflows are versioned (path ~ versionId; an old version stays while orders use it); the other items
are simple items with add/change/delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from js7es.domain import codec
from js7es.domain.board.item import BOARD_TYPES, BoardItem, parse_board
from js7es.domain.calendar.item import CalendarItem, parse_calendar_item
from js7es.domain.event import Event
from js7es.domain.lock import Lock, parse_lock
from js7es.domain.orderwatch.item import FileWatch, parse_file_watch
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value
from js7es.domain.workflow.parse import _Refused as Refused
from js7es.domain.workflow.parse import check_expression, valid_name
from js7es.domain.workflow_control import WorkflowPathControl, parse_workflow_path_control


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRef:
    path: str
    directors: tuple[str, ...] = ()
    uri: str | None = None
    process_limit: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"AgentRef:{self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentItem:
    id: str
    agent_path: str
    uri: str
    disabled: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"SubagentItem:{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentBundle:
    """JS7's SubagentBundle (formerly SubagentSelection): the Subagents a job may run on, each with its
    priority (js7es.domain.agent.selection). A priority is a number or, since JS7 2.7, an expression
    that may read the Subagent's metering values; both are kept as expression texts here."""

    id: str
    subagent_to_priority: Mapping[str, str] = field(default_factory=dict)  # SubagentId -> expression
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"SubagentBundle:{self.id}"


BUNDLE_TYPES = ("SubagentBundle", "SubagentSelection")  # JS7 reads the name it had up to 2.7.1 too


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResource:
    path: str
    variables: Mapping[str, str] = field(default_factory=dict)  # name -> expression
    env: Mapping[str, str] = field(default_factory=dict)  # NAME -> expression
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"JobResource:{self.path}"


SimpleItem = (
    AgentRef
    | SubagentItem
    | SubagentBundle
    | JobResource
    | CalendarItem
    | BoardItem
    | Lock
    | WorkflowPathControl
    | FileWatch
)


def parse_simple_item(obj: Any, *, committed: bool = False) -> SimpleItem | Problem:
    """An AgentRef, SubagentItem, JobResource or Calendar from its JSON (with TYPE); `committed` as for
    parse_workflow: fields js7es does not support are refused at deployment only."""
    if not isinstance(obj, Mapping):
        return problem("InvalidItem", "An item must be a JSON object")
    try:
        match obj.get("TYPE"):
            case "AgentRef":
                path = _name(obj, "path")
                directors = obj.get("directors", [])
                if not isinstance(directors, list) or not all(valid_name(d) for d in directors):
                    return problem("InvalidItem", f"AgentRef {path}: directors must be a list of subagent ids")
                if len(directors) > 2:
                    return problem("InvalidItem", f"AgentRef {path}: at most two directors")
                uri = obj.get("uri")
                if not directors and not isinstance(uri, str):
                    return problem("InvalidItem", f"AgentRef {path}: needs directors or a uri")
                limit = obj.get("processLimit")
                if limit is not None and (not isinstance(limit, int) or limit < 1):
                    return problem("InvalidItem", f"AgentRef {path}: processLimit must be >= 1")
                if limit is not None and not committed:  # the Agent's setting rules; ignoring it runs more
                    return problem(
                        "NotSupported",
                        f"AgentRef {path}: js7es does not support processLimit in the AgentRef yet; "
                        "set process-limit in the Agent's configuration (agent.toml)",
                        field="processLimit",
                    )
                return AgentRef(
                    path=path,
                    directors=tuple(directors),
                    uri=uri if isinstance(uri, str) else None,
                    process_limit=limit,
                    raw=dict(obj),
                )
            case "SubagentItem" | "Subagent":
                subagent_id = _name(obj, "id")
                agent_path = _name(obj, "agentPath")
                uri = obj.get("uri")
                if not isinstance(uri, str) or not uri:
                    return problem("InvalidItem", f"SubagentItem {subagent_id}: needs a uri")
                disabled = obj.get("disabled", False)
                if not isinstance(disabled, bool):
                    return problem("InvalidItem", f"SubagentItem {subagent_id}: disabled must be true or false")
                return SubagentItem(
                    id=subagent_id,
                    agent_path=agent_path,
                    uri=uri,
                    disabled=disabled,
                    raw={**obj, "TYPE": "SubagentItem"},
                )
            case type_ if type_ in BUNDLE_TYPES:
                return _parse_bundle(obj)
            case "JobResource":
                path = _name(obj, "path")
                return JobResource(
                    path=path,
                    variables=_expressions(obj.get("variables", {}), f"JobResource:{path}"),
                    env=_expressions(obj.get("env", {}), f"JobResource:{path}"),
                    raw=dict(obj),
                )
            case "Calendar":
                return parse_calendar_item(obj, _name(obj, "path"))
            case type_ if type_ in BOARD_TYPES:
                return parse_board(obj, _name(obj, "path"), check_expression)
            case "Lock":
                return parse_lock(obj, _name(obj, "path"))
            case "WorkflowPathControl":
                return parse_workflow_path_control(obj, _name(obj, "path"))
            case "FileWatch":  # js7es.domain.orderwatch
                return parse_file_watch(obj, _name(obj, "path"))
    except Refused as refused:
        return refused.problem
    return problem("UnknownItemType", f"Unknown item TYPE {obj.get('TYPE')!r}", TYPE=obj.get("TYPE"))


def _parse_bundle(obj: Mapping[str, Any]) -> SubagentBundle:
    bundle_id = _name(obj, "id")
    priorities = obj.get("subagentToPriority")
    if not isinstance(priorities, Mapping) or not priorities:
        raise Refused(problem("InvalidItem", f"SubagentBundle {bundle_id}: subagentToPriority must name Subagents"))
    texts: dict[str, str] = {}
    for subagent_id, priority in priorities.items():
        if not valid_name(subagent_id):
            raise Refused(problem("InvalidItem", f"SubagentBundle {bundle_id}: invalid SubagentId {subagent_id!r}"))
        if isinstance(priority, (int, Decimal, float)) and not isinstance(priority, bool):
            texts[subagent_id] = str(priority)  # JS7 writes a constant priority as a number
        else:
            texts[subagent_id] = check_expression(priority, f"SubagentBundle:{bundle_id}")
    return SubagentBundle(id=bundle_id, subagent_to_priority=texts, raw={**obj, "TYPE": "SubagentBundle"})


def simple_item_id(item: SimpleItem) -> str:
    """What a simple item is keyed by in its table: the id of a Subagent or bundle, else the path."""
    return item.id if isinstance(item, (SubagentItem, SubagentBundle)) else item.path


def _name(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not valid_name(value):
        raise Refused(problem("InvalidItem", f"Invalid {key} {value!r}"))
    assert isinstance(value, str)
    return value


def _expressions(obj: Any, where: str) -> dict[str, str]:
    if not isinstance(obj, Mapping):
        raise Refused(problem("InvalidItem", f"{where}: expected an object of expressions"))
    return {str(k): check_expression(v, where) for k, v in obj.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemEvent(Event):
    """Base of the inventory events (not keyed, as in JS7)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class VersionAdded(ItemEvent):
    version_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class VersionedItemAdded(ItemEvent):
    """A workflow version was added; `item` is its JSON (with path and versionId)."""

    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class VersionedItemChanged(ItemEvent):
    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class VersionedItemRemoved(ItemEvent):
    """The path has no current version any more; versions still used by orders stay until they end."""

    path: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class UnsignedSimpleItemAdded(ItemEvent):
    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class UnsignedSimpleItemChanged(ItemEvent):
    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class UnsignedItemAdded(ItemEvent):
    """An unsigned item that is not simple: a WorkflowControl (js7es.domain.workflow_control), per
    workflow version."""

    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class UnsignedItemChanged(ItemEvent):
    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SignedItemAdded(ItemEvent):
    """A job resource (signed in JS7; js7es checks the deployer's permission instead, for now)."""

    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SignedItemChanged(ItemEvent):
    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDeleted(ItemEvent):
    key: str
