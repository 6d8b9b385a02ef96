"""Numbers keep every digit through js7es's JSON, as JS7's BigDecimal does: never through float."""

from __future__ import annotations

import json
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from js7es.domain import codec
from js7es.domain.order.events import OrderAdded
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Succeeded
from js7es.domain.value import dumps, loads, value_from_json
from js7es.domain.workflow.workflow import WorkflowId

PI = "3.14159265358979323846264338327950288"


def test_a_number_with_more_digits_than_a_float_keeps_them_all() -> None:
    value = value_from_json(loads(f'{{"pi":{PI},"list":[1,2.50,-0.1,1e-30,12345678901234567890.5]}}'))
    assert value == {
        "pi": Decimal(PI),
        "list": (1, Decimal("2.5"), Decimal("-0.1"), Decimal("1E-30"), Decimal("12345678901234567890.5")),
    }
    text = dumps(value)
    assert text == f'{{"pi":{PI},"list":[1,2.5,-0.1,1E-30,12345678901234567890.5]}}'
    assert value_from_json(loads(text)) == value


def test_an_event_keeps_every_digit_through_the_codec() -> None:
    event = OrderAdded(workflow_id=WorkflowId("W", "1"), arguments={"pi": Decimal(PI), "n": 7})
    text = dumps(codec.encode(event))
    assert PI in text
    assert codec.decode(loads(text), OrderAdded) == event
    order = Order(
        id="o", workflow_id=WorkflowId("W", "1"), position=(0,), arguments=MappingProxyType({"pi": Decimal(PI)})
    ).with_outcome(Succeeded(named_values={"r": Decimal("-" + PI)}))
    assert codec.decode(loads(dumps(codec.encode(order))), Order) == order


SAMPLES: list[Any] = [
    {"a": (1, "x", None, True, False), "b": {}, "c": [], "d": {"e": [{}]}},
    {"n": 1.5, "s": 'ü € 😀 \t\n\\ "q" \u2028', 1: "int key", None: 0},
    MappingProxyType({"z": MappingProxyType({"y": (1, 2)})}),
]


@pytest.mark.parametrize("obj", SAMPLES, ids=range(len(SAMPLES)))
@pytest.mark.parametrize("indent", [None, 2])
def test_the_exact_writer_lays_out_json_as_the_stdlib_does(obj: Any, indent: int | None) -> None:
    """With a Decimal in it, an object is written by js7es's own writer: same text as json.dumps."""
    plain = json.loads(json.dumps(obj, default=dict))
    with_decimal = {"first": Decimal("0.5"), "rest": obj}
    expected = json.dumps(
        {"first": 0.5, "rest": plain},
        ensure_ascii=False,
        indent=indent,
        separators=None if indent else (",", ":"),
    )
    assert dumps(with_decimal, indent=indent) == expected
    assert dumps({"first": 0.5, "rest": obj}, indent=indent) == expected  # the C encoder's path


def test_what_is_no_json_is_refused_with_or_without_a_decimal() -> None:
    for bad in (Decimal("NaN"), Decimal("Infinity"), float("nan"), object(), {(1, 2): "tuple key"}):
        for obj in (bad, [Decimal("1.5"), bad]):
            with pytest.raises((TypeError, ValueError)):
                dumps(obj)


_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).map(
    lambda d: value_from_json(d)  # normalized as every Value is
)
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | _decimals,
    lambda inner: st.lists(inner, max_size=4).map(tuple) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_values)
def test_any_value_round_trips_exactly(value: Any) -> None:
    assert value_from_json(loads(dumps(value))) == value
    assert dumps(value_from_json(loads(dumps(value)))) == dumps(value)
