"""A number keeps every digit end to end, as JS7's BigDecimal does: journaled (events and snapshots),
recovered, dumped, exported as Avro. Before, the journal wrote numbers through float and an argument
3.14159265358979323846264338327950288 came back as 3.141592653589793."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from js7es.domain.event import KeyedEvent
from js7es.domain.order.events import OrderAdded, OrderProcessed
from js7es.domain.order.outcome import Succeeded
from js7es.domain.state import ControllerState
from js7es.domain.value import loads
from js7es.journal import FileJournal
from js7es.journal.avro import AvroCodec
from js7es.journal.tools import dump
from js7es.projections.kafka.encoder import EnvelopeEncoder
from tests.domain.simulator import Simulator

PI = "3.14159265358979323846264338327950288"
ARGUMENTS = {"pi": Decimal(PI), "list": (Decimal("-" + PI), Decimal("1E-30"), 12345678901234567890123)}


def _order_history() -> Simulator:
    sim = Simulator()
    sim.run_job = lambda order, job: Succeeded(named_values={"returnCode": 0, "result": order.arguments["pi"]})
    sim.deploy({"path": "W", "instructions": [{"TYPE": "Execute.Anonymous", "job": _job()}]})
    sim.add_order("o", "W", arguments=ARGUMENTS)
    sim.run()
    assert sim.events_of("o")[-1] == "OrderFinished"
    return sim


def _job() -> dict[str, object]:
    return {"agentPath": "AGENT", "executable": {"TYPE": "ShellScriptExecutable", "script": ":"}}


def test_events_and_snapshot_keep_every_digit(tmp_path: Path) -> None:
    sim = _order_history()
    with FileJournal.open(tmp_path) as journal:
        journal.persist_sync(sim.log)
        journal.take_snapshot(sim.state.snapshot_objects(), at_event_id=journal.last_event_id)
        added = OrderAdded(workflow_id=sim.state.orders["o"].workflow_id, arguments=ARGUMENTS)
        journal.persist_sync([KeyedEvent("o2", added)])
    text = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("*.journal"))).decode()
    assert f'"pi":{PI}' in text and "3.141592653589793," not in text

    with FileJournal.open(tmp_path) as journal:
        recovered = journal.recovered
    state = ControllerState.from_snapshot(recovered.snapshot)
    assert state.orders["o"].arguments == ARGUMENTS
    assert state == sim.state
    [added] = [s.event for s in recovered.events]
    assert isinstance(added, OrderAdded) and added.arguments == ARGUMENTS
    assert str(added.arguments["pi"]) == PI


def test_dump_and_avro_export_keep_every_digit(tmp_path: Path) -> None:
    sim = _order_history()
    with FileJournal.open(tmp_path) as journal:
        stamped = journal.persist_sync(sim.log)
    json_lines = list(dump(tmp_path))
    assert any(f'"pi":{PI}' in line for line in json_lines)
    assert any(f'"result":{PI}' in line for line in json_lines)

    codec = AvroCodec()
    encoder = EnvelopeEncoder(codec)  # what the Kafka export sends
    for s in stamped:
        for data in (codec.encode(s), encoder.encode(s)):
            assert codec.decode(data) == s
    processed = next(s for s in stamped if isinstance(s.event, OrderProcessed))
    decoded = codec.decode(encoder.encode(processed)).event
    assert isinstance(decoded, OrderProcessed)
    assert str(decoded.outcome.named_values["result"]) == PI
    assert [loads(line)["eventId"] for line in json_lines] == [s.event_id for s in stamped]
