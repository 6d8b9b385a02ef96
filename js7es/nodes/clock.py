"""The wall clock of a node's state machine: what its engine decides with ("now"), what its journal
stamps events with, and what its timers (scheduledFor, retry delays, sleeps, admission times) aim at.

TEST ONLY — never in a deployment or configuration file: a test may replace that clock for all the
processes it starts, so that a day of admission times or cycles passes in seconds:

    JS7ES_TEST_MODE=1
    JS7ES_TEST_CLOCK="<fake_origin_epoch_ms>,<real_origin_epoch_ms>,<speed>"

means wall = fake_origin + (real_now - real_origin) * speed, the same in every process that gets
the same value, so that the Controller and its Agents agree. A timer for a wall time T sleeps
(T - now) / speed real seconds. Without JS7ES_TEST_MODE=1 the variable is ignored (with a warning),
so that a stray variable cannot move a production node's time. Heartbeats, TLS, HTTP and cluster
timeouts stay on real time: they do not use this clock.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

TEST_CLOCK_VARIABLE = "JS7ES_TEST_CLOCK"
TEST_MODE_VARIABLE = "JS7ES_TEST_MODE"


def real_now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Clock:
    """The real clock (the default), or a test clock: shifted to `fake_origin_ms` and `speed` times faster."""

    fake_origin_ms: int | None = None
    real_origin_ms: int = 0
    speed: float = 1.0

    def __call__(self) -> int:
        """Now, epoch milliseconds."""
        real = real_now_ms()
        if self.fake_origin_ms is None:
            return real
        return self.fake_origin_ms + int((real - self.real_origin_ms) * self.speed)

    def real_seconds(self, wall_ms: float) -> float:
        """How long to sleep, in real seconds, for `wall_ms` milliseconds of this clock."""
        return max(0.0, wall_ms / 1000 / self.speed)

    @property
    def is_test_clock(self) -> bool:
        return self.fake_origin_ms is not None


SYSTEM_CLOCK = Clock()


class TestClockError(ValueError):
    """JS7ES_TEST_CLOCK is set in test mode but malformed: the node refuses to start."""

    __test__ = False  # not a pytest test class


def clock_from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    env = os.environ if environ is None else environ
    spec = env.get(TEST_CLOCK_VARIABLE)
    if not spec:
        return SYSTEM_CLOCK
    if env.get(TEST_MODE_VARIABLE) != "1":
        log.warning("%s is ignored: it is for tests only (with %s=1)", TEST_CLOCK_VARIABLE, TEST_MODE_VARIABLE)
        return SYSTEM_CLOCK
    parts = spec.split(",")
    try:
        if len(parts) != 3:
            raise ValueError("three numbers expected")
        clock = Clock(fake_origin_ms=int(parts[0]), real_origin_ms=int(parts[1]), speed=float(parts[2]))
    except ValueError as e:
        raise TestClockError(
            f"{TEST_CLOCK_VARIABLE}={spec!r}: expected '<fake_origin_epoch_ms>,<real_origin_epoch_ms>,<speed>' ({e})"
        ) from None
    if not 0 < clock.speed <= 1_000_000:
        raise TestClockError(f"{TEST_CLOCK_VARIABLE}={spec!r}: speed must be > 0 and at most 1000000")
    log.warning("TEST CLOCK in use: %s", clock)
    return clock
