"""Encode + decode rate of AvroCodec for a typical OrderProcessed/OrderMoved mix, beside JSON in the same run.

Prints one JSON object; nothing is asserted. Run: .venv/bin/python bench/avro_bench.py [events]
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7es.domain.event import Stamped, stamped_from_json, stamped_to_json
from js7es.domain.order.events import OrderMoved, OrderProcessed
from js7es.domain.order.outcome import Succeeded
from js7es.domain.value import loads
from js7es.journal.avro import AvroCodec
from js7es.journal.format import dumps


def events(n: int) -> list[Stamped]:
    """Per job step: OrderProcessed (returnCode + one result) then OrderMoved, as a workflow runs."""
    first = 1_732_521_600_000_000
    out = []
    for i in range(n):
        if i % 2 == 0:
            named = {"returnCode": 0, "invoices": i, "total": Decimal("1234.56")}
            event: OrderProcessed | OrderMoved = OrderProcessed(outcome=Succeeded(named_values=named))
        else:
            event = OrderMoved(to=(i % 7 + 1, "then", 0))
        out.append(Stamped(first + i, (first + i) // 1000, f"daily-invoices-{i // 10:06d}", event))
    return out


def rate(n: int, round_trip: Callable[[Any], object], sample: Sequence[Any]) -> float:
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for stamped in sample:
            round_trip(stamped)
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    sample = events(n)
    codec = AvroCodec()
    assert all(codec.decode(codec.encode(s)) == s for s in sample[:100])

    def avro_round_trip(s: Stamped) -> object:
        return codec.decode(codec.encode(s))

    def json_codec_round_trip(s: Stamped) -> object:  # what the journal does: dataclass ↔ JSON line
        return stamped_from_json(loads(dumps(stamped_to_json(s))))

    json_objects = [stamped_to_json(s) for s in sample]

    def plain_json_round_trip(obj: object) -> object:  # json.dumps + loads of the already-encoded dicts
        return json.loads(json.dumps(obj, default=float))

    encoded = [codec.encode(s) for s in sample]
    avro_bytes = sum(len(b) for b in encoded) / n
    json_bytes = sum(len(dumps(o).encode()) for o in json_objects) / n
    print(
        json.dumps(
            {
                "events": n,
                "mix": "50% OrderProcessed(Succeeded, 3 named values), 50% OrderMoved",
                "avro_codec_encode_decode_per_s": round(rate(n, avro_round_trip, sample)),
                "avro_encode_per_s": round(rate(n, codec.encode, sample)),
                "avro_decode_per_s": round(rate(n, codec.decode, encoded)),
                "json_codec_encode_decode_per_s": round(rate(n, json_codec_round_trip, sample)),
                "plain_json_dumps_loads_per_s": round(rate(n, plain_json_round_trip, json_objects)),
                "avro_bytes_per_event": round(avro_bytes, 1),
                "json_bytes_per_event": round(json_bytes, 1),
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
