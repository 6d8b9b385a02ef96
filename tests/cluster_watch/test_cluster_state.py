"""The reported cluster state: JS7's JSON, parsed strictly and written back unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from js7es.domain.problem import Problem
from js7es.nodes.cluster_watch.cluster_state import FAILED_OVER, KINDS, ClusterState, parse_cluster_state
from tests.cluster_watch.support import B, P, state, state_json


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "Empty"])
def test_every_state_round_trips(kind: str) -> None:
    obj = state_json(kind, B, **({"failedAt": 90} if kind == FAILED_OVER else {}))
    parsed = parse_cluster_state(obj)
    assert parsed == state(kind, B)
    assert isinstance(parsed, ClusterState) and parsed.to_json() == obj


def test_empty() -> None:
    assert parse_cluster_state({"TYPE": "Empty"}) == ClusterState(kind="Empty")
    assert ClusterState(kind="Empty").to_json() == {"TYPE": "Empty"}


def test_decimal_seconds_as_the_http_layer_decodes_them() -> None:
    obj = state_json("Coupled")
    obj["setting"]["timing"] = {"heartbeat": Decimal("0.25"), "heartbeatTimeout": 3, "consentTimeout": Decimal("1.5")}
    parsed = parse_cluster_state(obj)
    assert isinstance(parsed, ClusterState) and parsed.setting is not None
    assert (parsed.setting.timing.heartbeat, parsed.setting.timing.heartbeat_timeout) == (0.25, 3.0)


def _with(path: tuple[str, ...], value: Any, *, kind: str = "Coupled") -> dict[str, Any]:
    obj = state_json(kind)
    target = obj
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


_DELETE = object()

BAD = [
    ("not an object", [], "WrongType"),
    ("no TYPE", _with(("TYPE",), _DELETE), "InvalidClusterState"),
    ("unknown TYPE", _with(("TYPE",), "Coupling"), "InvalidClusterState"),
    ("Empty with a setting", _with(("TYPE",), "Empty"), "UnknownField"),
    ("no setting", _with(("setting",), _DELETE), "MissingField"),
    ("an unknown field", _with(("extra",), 1), "UnknownField"),
    ("failedAt outside FailedOver", _with(("failedAt",), 1), "UnknownField"),
    ("FailedOver without failedAt", state_json("FailedOver"), "MissingField"),
    ("negative failedAt", state_json("FailedOver", failedAt=-1), "InvalidClusterState"),
    ("setting not an object", _with(("setting",), "x"), "WrongType"),
    ("an unknown setting field", _with(("setting", "clusterWatchId"), "w"), "UnknownField"),
    ("three nodes", _with(("setting", "idToUri", "Tertiary"), "https://t"), "InvalidClusterState"),
    ("one node", _with(("setting", "idToUri"), {P: "https://p"}), "InvalidClusterState"),
    ("a URI not a string", _with(("setting", "idToUri", B), 4444), "InvalidClusterState"),
    ("an empty node id", _with(("setting", "idToUri"), {P: "https://p", "": "https://b"}), "InvalidClusterState"),
    ("activeId not a node", _with(("setting", "activeId"), "Tertiary"), "InvalidClusterState"),
    ("activeId not a string", _with(("setting", "activeId"), 1), "WrongType"),
    ("no timing", _with(("setting", "timing"), _DELETE), "MissingField"),
    ("timing missing a key", _with(("setting", "timing", "consentTimeout"), _DELETE), "MissingField"),
    ("timing a string", _with(("setting", "timing", "heartbeat"), "1s"), "WrongType"),
    ("timing a boolean", _with(("setting", "timing", "heartbeat"), True), "WrongType"),
    ("timing zero", _with(("setting", "timing", "heartbeatTimeout"), 0), "InvalidClusterState"),
    ("timing negative", _with(("setting", "timing", "heartbeat"), -1), "InvalidClusterState"),
]


@pytest.mark.parametrize(("name", "obj", "code"), BAD, ids=[b[0] for b in BAD])
def test_bad_states_are_coded_problems(name: str, obj: Any, code: str) -> None:
    parsed = parse_cluster_state(obj)
    assert isinstance(parsed, Problem), parsed
    assert parsed.code == code, parsed
