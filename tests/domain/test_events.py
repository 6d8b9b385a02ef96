"""The event registry (js7es/domain/events.py) names every event class of js7es, and decoding with it
needs no other import."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import js7es.domain
from js7es.domain import codec
from js7es.domain.agent.events import AgentCoupled
from js7es.domain.cluster import ClusterCoupled
from js7es.domain.event import NO_KEY, Event, Stamped, stamped_to_json
from js7es.domain.events import EVENTS, FAMILIES
from js7es.domain.items import VersionAdded
from js7es.domain.order.events import OrderAdded
from js7es.domain.value import dumps
from js7es.domain.workflow.workflow import WorkflowId


def test_the_registry_holds_every_event_class_of_js7es() -> None:
    for module in pkgutil.walk_packages(js7es.domain.__path__, "js7es.domain."):
        importlib.import_module(module.name)
    registered = {n: c for n, c in codec.registered(Event).items() if c.__module__.startswith("js7es.")}
    assert len(EVENTS) >= 45
    assert dict(EVENTS) == registered
    assert all(issubclass(cls, FAMILIES) for cls in EVENTS.values())
    assert list(EVENTS) == sorted(EVENTS)


def test_decoding_any_event_family_needs_only_the_registry() -> None:
    lines = [
        stamped_to_json(Stamped(1000, 1, "O", OrderAdded(workflow_id=WorkflowId("W", "1")))),
        stamped_to_json(Stamped(1001, 1, NO_KEY, ClusterCoupled(active_id="Primary"))),
        stamped_to_json(Stamped(1002, 1, "A", AgentCoupled())),
        stamped_to_json(Stamped(1003, 1, NO_KEY, VersionAdded(version_id="1"))),
    ]
    script = (
        "import json, sys\n"
        "from js7es.domain.events import stamped_from_json\n"
        "for line in sys.stdin:\n"
        "    print(type(stamped_from_json(json.loads(line)).event).__name__)\n"
        "print('js7es.domain.state' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input="".join(dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["OrderAdded", "ClusterCoupled", "AgentCoupled", "VersionAdded", "False"]
