"""Crash points for the tests that kill a process at the moments that matter (rule 8 of the house):
``JS7ES_TEST_CRASH_AT=<name>`` makes the process SIGKILL itself when it reaches `crash_point(name)`.
Unset (always, outside those tests), a crash point costs one dictionary lookup."""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("JS7ES_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
