"""The generated code of the hot paths behaves like the loops it replaced: `codec`'s per-class encoders
and decoders (written out field by field), its (TYPE, base) resolution kept between calls, and
`Order.updated` (slot by slot)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from js7es.domain import codec
from js7es.domain.order.order import Attachment, Cancelling, HistoricOutcome, Order
from js7es.domain.order.outcome import Succeeded
from js7es.domain.order.states import Processing, Ready
from js7es.domain.workflow.workflow import WorkflowId


def order() -> Order:
    return Order(
        id="o",
        workflow_id=WorkflowId("W", "1"),
        position=(0, "then", 1),
        arguments={"a": 1, "b": "x"},
        historic_outcomes=(HistoricOutcome(position=(0,), outcome=Succeeded(named_values={"n": 2})),),
        attached=Attachment(kind="Attached", agent_path="A"),
        mark=Cancelling(kill=True),
    )


def test_order_updated_is_dataclasses_replace() -> None:
    before = order()
    changes = [
        {},
        {"state": Ready()},
        {"state": Processing(subagent_id="s"), "position": (1,)},
        {"attached": None, "mark_on_agent": True, "priority": 3},
    ]
    for change in changes:
        after = before.updated(**change)
        assert after == dataclasses.replace(before, **change)
        assert after is not before
        for f in dataclasses.fields(Order):
            assert getattr(after, f.name) is change.get(f.name, getattr(before, f.name))
    with pytest.raises(TypeError, match="no field 'nope'"):
        before.updated(nope=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.updated().id = "other"  # type: ignore[misc]


def test_an_order_encodes_as_before_and_decodes_back() -> None:
    o = order()
    json = codec.encode(o)
    assert json == {
        "TYPE": "Order",
        "id": "o",
        "workflowId": {"TYPE": "WorkflowId", "path": "W", "versionId": "1"},
        "position": [0, "then", 1],
        "state": {"TYPE": "Fresh"},
        "arguments": {"a": 1, "b": "x"},
        "historicOutcomes": [
            {"TYPE": "HistoricOutcome", "position": [0], "outcome": {"TYPE": "Succeeded", "namedValues": {"n": 2}}}
        ],
        "attached": {"TYPE": "Attachment", "kind": "Attached", "agentPath": "A"},
        "mark": {"TYPE": "Cancelling", "mode": "FreshOrStarted", "kill": True, "killImmediately": False},
        "isSuspended": False,
        "deleteWhenTerminated": False,
        "markOnAgent": False,
        "forceAdmission": False,
        "isResumed": False,
    }  # the optional fields that are None are left out
    assert codec.decode(json, Order) == o


def test_decoding_checks_types_and_required_fields() -> None:
    good = {"TYPE": "Order", "id": "o", "workflowId": {"TYPE": "WorkflowId", "path": "W", "versionId": "1"}}
    with pytest.raises(codec.CodecError, match="Order: missing field 'position'"):
        codec.decode(good, Order)
    with_position = {**good, "position": [0]}

    class Text(str):
        pass

    assert codec.decode({**with_position, "id": Text("t")}, Order).id == "t"  # a str, if not exactly one
    for field, bad in (("id", 1), ("id", None), ("isSuspended", 1), ("scheduledFor", True), ("scheduledFor", "1")):
        with pytest.raises(codec.CodecError):
            codec.decode({**with_position, field: bad}, Order)
    assert codec.decode({**with_position, "scheduledFor": 5}, Order).scheduled_for == 5
    with pytest.raises(codec.CodecError, match="unknown TYPE 'Ready' for Order"):
        codec.decode({**with_position, "TYPE": "Ready"}, Order)


def test_a_type_registered_after_a_decode_is_found() -> None:
    @dataclass(frozen=True, slots=True)
    class CompiledLater:
        n: int = 0

    CompiledLater.__name__ = CompiledLater.__qualname__ = "CodecCompiledLaterProbe"
    with pytest.raises(codec.CodecError, match="unknown TYPE"):
        codec.decode({"TYPE": "CodecCompiledLaterProbe"})
    codec.register(CompiledLater)
    assert codec.decode({"TYPE": "CodecCompiledLaterProbe", "n": 3}) == CompiledLater(n=3)
