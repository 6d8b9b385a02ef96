"""The Controller's FileWatches with the files their Agents saw (JS7's OrderWatchState and
OrderWatchStateHandler), and the Agent's FileWatches with the files it announced (JS7's FileWatchState).

Controller: per file name one of
- `Appeared`: the file is there, its order is still to be added (the name is in `added_queue`);
- `HasOrder(order_id, queued)`: its order exists; `queued` is `VANISHED` once the file is gone (then
  the order is marked OrderExternalVanished and deleted when it has terminated), or an `Appeared` when
  the file came back meanwhile (a new order follows once the old one is deleted);
- `Rejected`: no order could be added (a bad order id, refused arguments).
The order events keep it in step: OrderAdded with an externalOrderKey (HasOrder), OrderDeleted (the
name is forgotten, or queued for a new order when the file reappeared).

Agent: the set of files announced with ExternalOrderAppeared and not yet ExternalOrderVanished, so that
after a restart the Agent compares the directory with it and announces each change exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.event import Event
from js7es.domain.orderwatch.events import (
    ExternalOrderAppeared,
    ExternalOrderRejected,
    ExternalOrderVanished,
    OrderWatchEvent,
)
from js7es.domain.orderwatch.item import FileWatch, parse_file_watch
from js7es.domain.orderwatch.key import ExternalOrderKey
from js7es.domain.problem import Problem, problem
from js7es.domain.value import NamedValues, value_from_json, value_to_json


@dataclass(frozen=True, slots=True, kw_only=True)
class Appeared:
    arguments: NamedValues = field(default_factory=dict)
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Vanished:
    pass


VANISHED = _Vanished()


@dataclass(frozen=True, slots=True, kw_only=True)
class HasOrder:
    order_id: str
    queued: Appeared | _Vanished | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    problem: str


ExternalState = Appeared | HasOrder | Rejected


def transition(current: ExternalState | None, event: OrderWatchEvent, where: str) -> ExternalState | Problem | None:
    """JS7's OrderWatchState.applyEvent for one name: the new state (None: forgotten), or why not."""
    name = event.external_order_name
    match event:
        case ExternalOrderAppeared(arguments=arguments, order_id=order_id):
            appeared = Appeared(arguments=arguments, order_id=order_id)
            if current is None:
                return appeared
            if isinstance(current, HasOrder) and current.queued is VANISHED:
                return HasOrder(order_id=current.order_id, queued=appeared)  # a new order after the old one
            return problem("InapplicableEvent", f"{where}: duplicate ExternalOrderAppeared({name!r}): {current}")
        case ExternalOrderRejected(problem=text):
            if text.startswith("FileWatchPatternDoesntMatch"):
                return None  # the Agent will never say the file vanished (JS7 forgets it too)
            return Rejected(problem=text)
        case ExternalOrderVanished():
            match current:
                case None:
                    return problem("InapplicableEvent", f"{where}: ExternalOrderVanished({name!r}) for an unknown name")
                case Appeared() | Rejected():
                    return None  # vanished before its order was added
                case HasOrder(queued=queued) if queued is not VANISHED:
                    return HasOrder(order_id=current.order_id, queued=VANISHED)
            return problem("InapplicableEvent", f"{where}: duplicate ExternalOrderVanished({name!r})")
    return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")


@dataclass(slots=True)
class OrderWatchState:
    item: FileWatch
    external: dict[str, ExternalState] = field(default_factory=dict)
    added_queue: set[str] = field(default_factory=set)  # Appeared: an order to be added
    vanished_queue: set[str] = field(default_factory=set)  # HasOrder(queued=VANISHED): to be marked

    def put(self, name: str, new: ExternalState | None) -> None:
        if new is None:
            self.external.pop(name, None)
        else:
            self.external[name] = new
        if isinstance(new, Appeared):
            self.added_queue.add(name)
        else:
            self.added_queue.discard(name)
        if isinstance(new, HasOrder) and new.queued is VANISHED:
            self.vanished_queue.add(name)
        else:
            self.vanished_queue.discard(name)


class OrderWatches:
    """The Controller's FileWatches by path, with their files."""

    def __init__(self) -> None:
        self.watches: dict[str, OrderWatchState] = {}

    def has_queued(self) -> bool:
        return any(w.added_queue or w.vanished_queue for w in self.watches.values())

    def put_item(self, item: FileWatch, *, adding: bool) -> Problem | None:
        existing = self.watches.get(item.path)
        if (existing is None) != adding:
            return problem("InapplicableEvent", f"{'Add' if adding else 'Change'} of {item.key}")
        if existing is None:
            self.watches[item.path] = OrderWatchState(item=item)
        else:
            existing.item = item
        return None

    def delete_item(self, path: str) -> Problem | None:
        if self.watches.pop(path, None) is None:
            return problem("UnknownItem", f"Unknown item OrderWatch:{path}")
        return None

    def apply_event(self, path: str, event: Event) -> Problem | None:
        if not isinstance(event, OrderWatchEvent):
            return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")
        watch = self.watches.get(path)
        if watch is None:
            return problem("UnknownItem", f"{type(event).__name__} for unknown OrderWatch:{path}")
        name = event.external_order_name
        result = transition(watch.external.get(name), event, watch.item.key)
        if isinstance(result, Problem):
            return result
        watch.put(name, result)
        return None

    def on_order_added(self, order_id: str, key: ExternalOrderKey) -> Problem | None:
        watch = self.watches.get(key.order_watch_path)
        current = None if watch is None else watch.external.get(key.name)
        if watch is None or not isinstance(current, Appeared) or current.order_id not in (None, order_id):
            return problem("InapplicableEvent", f"OrderAdded of {order_id!r} for {key}: not an appeared file")
        watch.put(key.name, HasOrder(order_id=order_id))
        return None

    def on_order_deleted(self, order_id: str, key: ExternalOrderKey) -> None:
        """JS7's onOrderDeleted: the name is forgotten, or its reappeared file gets a new order."""
        watch = self.watches.get(key.order_watch_path)
        if watch is None:
            return
        current = watch.external.get(key.name)
        if isinstance(current, HasOrder) and current.order_id == order_id:
            watch.put(key.name, current.queued if isinstance(current.queued, Appeared) else None)

    # -- snapshots: JS7's UnsignedSimpleItemAdded(FileWatch) and ExternalOrder objects ------------------

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self.watches):
            watch = self.watches[path]
            yield {"TYPE": "SimpleItem", "item": dict(watch.item.raw)}
            for name in sorted(watch.external):
                yield {
                    "TYPE": "ExternalOrder",
                    "orderWatchPath": path,
                    "externalOrderName": name,
                    "state": _state_to_json(watch.external[name]),
                }

    def restore(self, obj: Mapping[str, Any]) -> None:
        watch = self.watches[obj["orderWatchPath"]]
        watch.put(obj["externalOrderName"], _state_from_json(obj["state"]))


def _appeared_to_json(appeared: Appeared) -> dict[str, Any]:
    out: dict[str, Any] = {"TYPE": "Appeared", "arguments": value_to_json(dict(appeared.arguments))}
    if appeared.order_id is not None:
        out["orderId"] = appeared.order_id
    return out


def _state_to_json(state: ExternalState) -> dict[str, Any]:
    match state:
        case Appeared():
            return _appeared_to_json(state)
        case Rejected(problem=text):
            return {"TYPE": "Rejected", "problem": {"message": text}}
        case HasOrder(order_id=order_id, queued=queued):
            out: dict[str, Any] = {"TYPE": "HasOrder", "orderId": order_id}
            if isinstance(queued, Appeared):
                out["queued"] = _appeared_to_json(queued)
            elif queued is VANISHED:
                out["queued"] = {"TYPE": "Vanished"}
            return out
    raise AssertionError(state)


def _appeared_from_json(obj: Mapping[str, Any]) -> Appeared:
    arguments = value_from_json(obj.get("arguments", {}))
    assert isinstance(arguments, Mapping)
    return Appeared(arguments=arguments, order_id=obj.get("orderId"))


def _state_from_json(obj: Mapping[str, Any]) -> ExternalState:
    match obj.get("TYPE"):
        case "Appeared" | "Arised":
            return _appeared_from_json(obj)
        case "Rejected":
            return Rejected(problem=str(obj["problem"]["message"]))
        case "HasOrder":
            queued = obj.get("queued")
            if queued is None:
                return HasOrder(order_id=obj["orderId"])
            if queued.get("TYPE") in ("Vanished", "VanishedAck"):
                return HasOrder(order_id=obj["orderId"], queued=VANISHED)
            return HasOrder(order_id=obj["orderId"], queued=_appeared_from_json(queued))
    raise ValueError(f"Unknown ExternalOrder state {obj!r}")


# -- the Agent's side ----------------------------------------------------------------------------------


@dataclass(slots=True)
class FileWatchState:
    """The Agent's FileWatch and the files it announced (names relative to the directory)."""

    item: FileWatch
    files: set[str] = field(default_factory=set)

    def apply_event(self, event: Event) -> Problem | None:
        match event:
            case ExternalOrderAppeared(external_order_name=name):
                if name in self.files:
                    return problem("InapplicableEvent", f"{self.item.key}: {name!r} has appeared already")
                self.files.add(name)
                return None
            case ExternalOrderVanished(external_order_name=name):
                if name not in self.files:
                    return problem("InapplicableEvent", f"{self.item.key}: {name!r} has not appeared")
                self.files.discard(name)
                return None
            case ExternalOrderRejected():
                return None
        return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        yield {"TYPE": "FileWatchState", "fileWatch": dict(self.item.raw)}
        for name in sorted(self.files):
            yield {"TYPE": "FileWatchState.File", "orderWatchPath": self.item.path, "path": name}


def file_watch_from_snapshot(obj: Mapping[str, Any]) -> FileWatchState | Problem:
    raw = obj["fileWatch"]
    item = parse_file_watch(raw, str(raw.get("path")))
    return item if isinstance(item, Problem) else FileWatchState(item=item)
