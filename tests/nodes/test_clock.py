"""The test clock (js7es.nodes.clock): only in test mode, parsed strictly, and its arithmetic."""

from __future__ import annotations

import pytest

from js7es.nodes.clock import SYSTEM_CLOCK, Clock, TestClockError, clock_from_environment, real_now_ms


def test_without_the_variable_the_real_clock() -> None:
    assert clock_from_environment({}) is SYSTEM_CLOCK
    assert abs(SYSTEM_CLOCK() - real_now_ms()) < 1000
    assert SYSTEM_CLOCK.real_seconds(1500) == 1.5


def test_ignored_outside_test_mode() -> None:
    assert clock_from_environment({"JS7ES_TEST_CLOCK": "0,0,1000"}) is SYSTEM_CLOCK
    assert clock_from_environment({"JS7ES_TEST_CLOCK": "0,0,1000", "JS7ES_TEST_MODE": "yes"}) is SYSTEM_CLOCK


def test_in_test_mode_wall_is_fake_origin_plus_scaled_real_time() -> None:
    real_origin = real_now_ms() - 2000  # two real seconds ago
    clock = clock_from_environment({"JS7ES_TEST_MODE": "1", "JS7ES_TEST_CLOCK": f"1000000,{real_origin},600"})
    assert clock == Clock(fake_origin_ms=1_000_000, real_origin_ms=real_origin, speed=600.0)
    assert 1_000_000 + 1_200_000 <= clock() < 1_000_000 + 1_300_000
    assert clock.real_seconds(600_000) == 1.0  # ten test minutes are one real second
    assert clock.real_seconds(-5) == 0.0


@pytest.mark.parametrize("spec", ["x", "1,2", "1,2,3,4", "1,2,fast", "1,2,0", "1,2,-1", "1.5,2,3"])
def test_a_malformed_test_clock_refuses_to_start(spec: str) -> None:
    with pytest.raises(TestClockError, match="JS7ES_TEST_CLOCK"):
        clock_from_environment({"JS7ES_TEST_MODE": "1", "JS7ES_TEST_CLOCK": spec})
