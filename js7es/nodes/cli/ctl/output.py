"""What ``js7es ctl`` prints: the table of orders, one readable line per event, times and positions."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from js7es.domain.value import dumps


def state_of(order: dict[str, Any]) -> str:
    state = order.get("state", {})
    return str(state.get("TYPE", "?")) if isinstance(state, dict) else str(state)


def order_row(order: dict[str, Any]) -> list[str]:
    workflow = order.get("workflowId", {})
    notes = []
    if order.get("isSuspended"):
        notes.append("suspended")
    attached = order.get("attached")
    if isinstance(attached, dict):
        notes.append(f"{str(attached.get('kind', 'Attached')).lower()} {attached.get('agentPath')}")
    if order.get("scheduledFor") is not None and state_of(order) == "Fresh":
        notes.append(f"scheduled for {local_time(order['scheduledFor'])}")
    return [
        str(order.get("id")),
        f"{workflow.get('path')}~{workflow.get('versionId')}",
        position_text(order.get("position", [])),
        state_of(order),
        ", ".join(notes),
    ]


def position_text(position: Any) -> str:
    """A position as ctl shows it: ``1/then:0``."""
    if not isinstance(position, list):
        return str(position)
    parts = []
    for i in range(0, len(position), 2):
        parts.append(str(position[i]) if i == 0 else f"{position[i - 1]}:{position[i]}")
    return "/".join(parts)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in (header, *rows)]
    return "\n".join(lines)


def local_time(epoch_ms: int) -> str:
    return datetime.datetime.fromtimestamp(epoch_ms / 1000).isoformat(sep=" ", timespec="milliseconds")


def local_iso(text: Any) -> str:
    """A JOC date (ISO 8601 in UTC, e.g. 2026-12-06T09:31:34.123Z) as `local_time` shows a moment."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return local_time(int(moment.timestamp() * 1000))


def format_event(event: dict[str, Any]) -> str:
    """One readable line: time, Key, TYPE and the remaining fields (an output chunk as its text)."""
    event_id = int(event.get("eventId", 0))
    rest = {k: v for k, v in event.items() if k not in ("eventId", "TYPE", "Key", "timestampMillis")}
    key = event.get("Key")
    if event.get("TYPE") in ("OrderStdoutWritten", "OrderStderrWritten") and isinstance(rest.get("chunk"), str):
        details = repr(rest["chunk"].rstrip("\n"))[:200]
    elif event.get("TYPE") in ("VersionedItemAdded", "VersionedItemChanged", "UnsignedSimpleItemAdded") and isinstance(
        rest.get("item"), dict
    ):
        item = rest["item"]
        details = f"{item.get('TYPE', 'Workflow')}:{item.get('path', item.get('id'))}"
    else:
        details = " ".join(f"{k}={dumps(v)}" for k, v in rest.items())
        details = details if len(details) <= 300 else details[:297] + "..."
    when = local_time(event_id // 1000)
    return f"{when}  {event_id}  {key + '  ' if key else ''}{event.get('TYPE')}  {details}".rstrip()
