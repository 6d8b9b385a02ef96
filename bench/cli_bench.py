"""CLI start-up benchmark: prints ONE JSON document, the wall time of `js7es ctl overview` against a
running standalone beside the time of `python -c pass` (the interpreter's own start) in the same run.

    .venv/bin/python bench/cli_bench.py                     # 20 runs of each command
    .venv/bin/python bench/cli_bench.py --quick             # 5 runs
    .venv/bin/python bench/cli_bench.py --data-dir DIR      # a standalone already running on DIR

Without --data-dir a standalone is started on a temporary data directory (free ports) and stopped at
the end. Each figure is the wall time of a whole process (`subprocess.run`, from the fork to the
exit), as a person or a script sees it: median, min and max of the runs, taken in turns (one run of
each command, then the next round), so that a busy moment of the machine hits every command alike.
`ctlOverviewTopImports`: the ten slowest imports of one `ctl overview` (`python -X importtime`,
cumulative microseconds). Nothing is asserted; see bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TARGET_S = 0.3  # issue 11: `js7es ctl overview` against a running standalone


def js7es_command() -> list[str]:
    """The console script beside this interpreter, as a user runs it; else ``python -m js7es.nodes.cli``."""
    script = Path(sys.executable).parent / "js7es"
    return [str(script)] if script.exists() else [sys.executable, "-m", "js7es.nodes.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def standalone(data_dir: Path) -> Iterator[None]:
    """`js7es standalone` on `data_dir` until it says "Running.", stopped by SIGTERM at the end."""
    ports = []
    while len(ports) < 2:
        port = free_port()
        if port not in ports:
            ports.append(port)
    where = ["--data-dir", str(data_dir), "--controller-port", str(ports[0]), "--agent-port", str(ports[1])]
    process = subprocess.Popen(
        [*js7es_command(), "standalone", *where],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        assert process.stdout is not None
        for line in process.stdout:
            print(f"standalone: {line.rstrip()}", file=sys.stderr)
            if line.startswith("Running."):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the standalone did not start in 180 s")
        else:
            raise RuntimeError(f"the standalone ended with exit code {process.wait()}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wall_time(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit code {done.returncode}: {done.stderr.strip()[:500]}")
    return elapsed


def summary(times: list[float]) -> dict[str, Any]:
    return {
        "medianSeconds": round(statistics.median(times), 4),
        "minSeconds": round(min(times), 4),
        "maxSeconds": round(max(times), 4),
    }


def top_imports(argv: list[str], n: int) -> list[str]:
    """The `n` imports with the largest cumulative time of one run (``python -X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "js7es.nodes.cli", *argv], capture_output=True, text=True
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((int(match.group(1)), match.group(3)))
    return [f"{name} {micros} us" for micros, name in sorted(rows, reverse=True)[:n]]


def measure(data_dir: Path, runs: int) -> dict[str, Any]:
    js7es = js7es_command()
    commands = {
        "pythonPass": [sys.executable, "-c", "pass"],
        "js7esHelp": [*js7es, "--help"],
        "ctlHelp": [*js7es, "ctl", "--help"],
        "ctlOverview": [*js7es, "ctl", "--data-dir", str(data_dir), "overview"],
    }
    for argv in commands.values():  # warm the file cache and the byte-code
        wall_time(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs):
        for name, argv in commands.items():
            times[name].append(wall_time(argv))
        print(f"round {i + 1}/{runs}", file=sys.stderr)
    figures = {name: summary(t) for name, t in times.items()}
    overview = figures["ctlOverview"]["medianSeconds"]
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "runs": runs,
        "command": " ".join(js7es),
        **figures,
        "ctlOverviewOverPythonPass": round(overview / figures["pythonPass"]["medianSeconds"], 1),
        "ctlOverviewMinusPythonPassSeconds": round(overview - figures["pythonPass"]["medianSeconds"], 4),
        "targetSeconds": TARGET_S,
        "ctlOverviewBelowTarget": overview < TARGET_S,
        "ctlOverviewTopImports": top_imports(["ctl", "--data-dir", str(data_dir), "overview"], 10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 runs of each command instead of 20")
    parser.add_argument("--runs", type=int, help="runs of each command")
    parser.add_argument("--data-dir", type=Path, help="the data directory of a standalone already running")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 20)
    if args.data_dir is not None:
        result = measure(args.data_dir, runs)
    else:
        with tempfile.TemporaryDirectory(prefix="js7es-cli-bench-") as directory:
            data_dir = Path(directory) / "data"
            with standalone(data_dir):
                result = measure(data_dir, runs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
