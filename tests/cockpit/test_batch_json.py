"""The batch writes JSON columns with the domain's `dumps` (one pass of the C encoder when no Decimal is
in it): the very text of the journal, numbers exact, or rows written before and after would differ."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from js7es.domain import codec
from js7es.domain.order.order import Order
from js7es.domain.value import dumps
from js7es.domain.workflow.workflow import WorkflowId
from js7es.projections.cockpit.batch import _dumps

VALUES: list[Any] = [
    None,
    True,
    0,
    -12345678901234567890,
    Decimal("1.25"),
    Decimal("-0.000001"),
    Decimal("12345678901234.5"),
    Decimal("3.14159265358979323846264338327950288"),
    "plain",
    'ü € 😀 \t\n\\ "q" \u2028',
    (),
    (1, "a", (Decimal("2.5"), None)),
    [1, [2, (3,)]],
    {"a": 1, "b": {"c": (Decimal("0.1"), "x")}},
    MappingProxyType({"z": MappingProxyType({"y": (1, 2)}), "a": Decimal("3.75")}),
    {1: "int key", "s": False},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_same_text_as_the_domains_dumps(value: Any) -> None:
    assert _dumps(value) == dumps(value)
    if isinstance(value, Decimal):
        assert _dumps(value) == str(value)  # every digit, never through float


def test_an_order_as_the_domains_dumps_writes_it() -> None:
    order = Order(
        id="o|1",
        workflow_id=WorkflowId("W", "v1"),
        position=(1, "then", 0),
        arguments=MappingProxyType({"n": Decimal("1.5"), "text": "ä\t", "list": ("a", 1)}),
        scheduled_for=1_700_000_000_000,
    )
    encoded = codec.encode(order)
    assert _dumps(encoded) == dumps(encoded)


def test_what_the_domains_dumps_refuses_it_refuses() -> None:
    for bad in (Decimal("NaN"), object(), {(1, 2): "tuple key"}):
        with pytest.raises((TypeError, ValueError)):
            dumps(bad)
        with pytest.raises((TypeError, ValueError)):
            _dumps(bad)
