"""Runs a js7es command under a wall-clock stack sampler of all its threads (py-spy is not installed
here; cProfile sees only the main thread, the Cockpit works in worker threads too):

    python bench/stack_sampler.py OUT.json cockpit --config cockpit.toml

Every 5 ms it takes each thread's stack (`sys._current_frames`); at exit it writes OUT.json: per
function (file:line name), the share of samples with it on the stack (inclusive) and on top (self),
over the samples of threads that were not idle (waiting in a selector, a lock, a queue's get)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

IDLE = ("select", "poll", "epoll", "wait", "_worker", "acquire", "get", "sleep", "accept", "run_forever", "_run_once")


def _stacks(me: int) -> list[list[str]]:
    """The busy threads' stacks as names, innermost first. No frame is kept: a frame keeps its locals
    alive (an SQLite cursor with its statement in progress, which then breaks the next commit)."""
    stacks = []
    for ident, frame in sys._current_frames().items():
        if ident == me or frame.f_code.co_name in IDLE:
            continue
        names = []
        f: Any = frame
        while f is not None:
            code = f.f_code
            names.append(f"{code.co_filename.rsplit('/site-packages/', 1)[-1]}:{code.co_firstlineno} {code.co_name}")
            f = f.f_back
        stacks.append(names)
    return stacks


def sample(out: Path, stop: threading.Event) -> None:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    busy = 0
    me = threading.get_ident()
    while not stop.wait(0.005):
        for names in _stacks(me):
            busy += 1
            own[names[0]] += 1
            for name in set(names):
                inclusive[name] += 1
    report = {
        "busySamples": busy,
        "inclusive": [[round(n / busy, 3), name] for name, n in inclusive.most_common(60)] if busy else [],
        "self": [[round(n / busy, 3), name] for name, n in own.most_common(30)] if busy else [],
    }
    out.write_text(json.dumps(report, indent=1))


def main() -> int:
    out = Path(sys.argv[1])
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(out, stop), daemon=True)
    sampler.start()
    from js7es.nodes.cli import main as cli

    try:
        return cli(sys.argv[2:])
    finally:
        stop.set()
        sampler.join(10)
        time.sleep(0)


if __name__ == "__main__":
    sys.exit(main())
