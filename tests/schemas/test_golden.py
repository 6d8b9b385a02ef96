"""Golden files per event class: tests/golden/events/<TYPE>.json and <TYPE>.avro.hex.

Run with UPDATE_GOLDEN=1 to rewrite them after an intended change (then review the diff: a changed
golden file is a changed contract).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.cluster import ClusterNodesAppointed, ClusterSetting, ClusterTiming
from js7es.domain.event import Event, Stamped, stamped_from_json, stamped_to_json
from js7es.domain.lock import LockDemand
from js7es.domain.order.cycle import CycleState
from js7es.domain.order.events import (
    ForkedChild,
    OrderAdded,
    OrderAttachedToAgent,
    OrderCyclingPrepared,
    OrderForked,
    OrderLocksQueued,
    OrderTransferred,
    WorkflowPosition,
)
from js7es.domain.order.order import Attachment, HistoricOutcome, Order, OrderMark, StickySubagent
from js7es.domain.order.outcome import Outcome
from js7es.domain.order.states import OrderState
from js7es.domain.orderwatch.key import ExternalOrderKey, ExternalOrderLink
from js7es.domain.value import dumps, loads
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.avro import AvroCodec, contract_event_classes, generate_schemas, record_name
from tests.schemas.samples import CLUSTER_SETTING, EVENT_SAMPLES, ORDER, TYPE_SAMPLES, WORKFLOW_ID, stamped_sample
from tests.schemas.support import differences

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "events"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CODEC = AvroCodec()


def pretty_json(stamped: Stamped) -> str:
    """The journal's JSON (numbers exact), indented for review."""
    return dumps(stamped_to_json(stamped), indent=2) + "\n"


def _compare_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest tests/schemas"
    assert path.read_text(encoding="utf-8") == actual, f"{path.name} differs (UPDATE_GOLDEN=1 if intended)"


def test_every_event_class_has_a_sample() -> None:
    classes = contract_event_classes()
    assert sorted(EVENT_SAMPLES) == sorted(classes)
    for name, event in EVENT_SAMPLES.items():
        assert type(event) is classes[name]


@pytest.mark.parametrize("type_name", sorted(EVENT_SAMPLES))
def test_golden_json(type_name: str) -> None:
    stamped = stamped_sample(type_name)
    text = pretty_json(stamped)
    _compare_golden(GOLDEN / f"{type_name}.json", text)
    decoded = stamped_from_json(loads(text))
    assert decoded == stamped


@pytest.mark.parametrize("type_name", sorted(EVENT_SAMPLES))
def test_golden_avro(type_name: str) -> None:
    stamped = stamped_sample(type_name)
    data = CODEC.encode(stamped)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == CODEC.fingerprint
    _compare_golden(GOLDEN / f"{type_name}.avro.hex", data.hex() + "\n")
    golden = bytes.fromhex((GOLDEN / f"{type_name}.avro.hex").read_text())
    decoded = CODEC.decode(golden)
    assert decoded == stamped
    assert differences(decoded, stamped) == []


def test_every_nested_type_has_a_sample_that_round_trips() -> None:
    nested = {r if isinstance(r, str) else r["name"] for r in generate_schemas()["types.avsc"]}
    assert sorted(f"js7es.types.{n}" for n in TYPE_SAMPLES) == sorted(nested)
    for name, sample in TYPE_SAMPLES.items():
        assert record_name(type(sample)) == f"js7es.types.{name}"
        stamped = Stamped(1, 0, "o", _event_holding(sample))
        assert differences(CODEC.decode(CODEC.encode(stamped)), stamped) == [], name
    # and the dataclass defaults: an order with only its required fields
    plain = Stamped(2, 0, "o", OrderAttachedToAgent(order=Order(id="x", workflow_id=WORKFLOW_ID, position=(0,))))
    assert differences(CODEC.decode(CODEC.encode(plain)), plain) == []


def _event_holding(sample: Any) -> Event:
    match sample:
        case ClusterSetting():
            return ClusterNodesAppointed(setting=sample)
        case ClusterTiming():
            return ClusterNodesAppointed(setting=replace(CLUSTER_SETTING, timing=sample))
        case ForkedChild():
            return OrderForked(children=(sample,))
        case CycleState():
            return OrderCyclingPrepared(cycle_state=sample)
        case LockDemand():
            return OrderLocksQueued(demands=(sample,))
        case WorkflowPosition():
            return OrderTransferred(workflow_position=sample)
        case ExternalOrderKey():
            return OrderAdded(workflow_id=WORKFLOW_ID, external_order_key=sample)
        case ExternalOrderLink():
            order = replace(ORDER, external_order=sample)
        case Attachment():
            order = replace(ORDER, attached=sample)
        case WorkflowId():
            order = replace(ORDER, workflow_id=sample)
        case OrderMark():
            order = replace(ORDER, mark=sample)
        case OrderState():
            order = replace(ORDER, state=sample)
        case HistoricOutcome():
            order = replace(ORDER, historic_outcomes=(sample,))
        case StickySubagent():
            order = replace(ORDER, sticky_subagents=(sample,))
        case Outcome():
            order = replace(ORDER, historic_outcomes=(HistoricOutcome(position=(9, "then"), outcome=sample),))
        case _:
            order = sample
    return OrderAttachedToAgent(order=order)


def test_no_stray_golden_files() -> None:  # last in this file: after UPDATE_GOLDEN wrote them
    expected = {f"{n}.json" for n in EVENT_SAMPLES} | {f"{n}.avro.hex" for n in EVENT_SAMPLES}
    assert {p.name for p in GOLDEN.iterdir()} == expected
