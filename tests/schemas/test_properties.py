"""Random order events round-trip exactly through Avro: positions, nested values, Decimals, unicode."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.event import Stamped
from js7es.domain.order.events import OrderAdded, OrderMoved, OrderProcessed, OrderPrompted
from js7es.domain.order.outcome import Disrupted, Failed, Killed, Succeeded, TimedOut
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.avro import AvroCodec
from tests.schemas.support import differences

CODEC = AvroCodec()
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# timestamp-millis is read back as a datetime: years 1 to 9999
TIMESTAMPS = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999)

positions = st.lists(
    st.one_of(st.integers(min_value=0, max_value=10_000), st.text(min_size=1, max_size=12)), min_size=1, max_size=7
).map(tuple)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: values are JSON text, not Avro longs
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=25,
)
named_values = st.dictionaries(st.text(max_size=12), values, max_size=6)
optional_text = st.none() | st.text(max_size=40)

simple_outcomes = st.one_of(
    st.builds(Succeeded, named_values=named_values),
    st.builds(Failed, error_message=optional_text, named_values=named_values),
    st.builds(Disrupted, reason=st.sampled_from(["ProcessLost", "Other"]), message=optional_text),
)
outcomes = st.one_of(
    simple_outcomes,
    st.builds(TimedOut, outcome=simple_outcomes),
    st.builds(Killed, outcome=st.builds(TimedOut, outcome=simple_outcomes)),
)

events = st.one_of(
    st.builds(OrderMoved, to=positions, reason=optional_text),
    st.builds(
        OrderAdded,
        workflow_id=st.builds(WorkflowId, st.text(max_size=30), st.text(max_size=20)),
        arguments=named_values,
        scheduled_for=st.none() | INT64,
        delete_when_terminated=st.booleans(),
        start_position=st.none() | positions,
    ),
    st.builds(OrderProcessed, outcome=outcomes),
    st.builds(OrderPrompted, question=values),
)
stamped_events = st.builds(
    Stamped,
    event_id=st.integers(min_value=0, max_value=2**63 - 1),
    timestamp_ms=TIMESTAMPS,
    key=st.text(max_size=30),
    event=events,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stamped_events)
def test_random_events_round_trip_exactly(stamped: Stamped) -> None:
    decoded = CODEC.decode(CODEC.encode(stamped))
    assert decoded == stamped
    assert differences(decoded, stamped) == []  # also types: tuple not list, Decimal("5") not 5


def test_decimals_keep_every_digit_and_their_type() -> None:
    question = (
        Decimal("5"),
        Decimal("-0"),
        Decimal("1.50"),
        Decimal("1E+400"),
        Decimal("3.14159265358979323846264338"),
    )
    stamped = Stamped(1, 0, "k", OrderPrompted(question=question))
    assert differences(CODEC.decode(CODEC.encode(stamped)), stamped) == []
