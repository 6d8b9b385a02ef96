"""Helpers shared by the benchmarks: the machine's own limit, cProfile excerpts, peak RSS, subprocesses."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def raw_fdatasync_rate(directory: Path, seconds: float) -> dict[str, Any]:
    """The machine's limit: append + fdatasync of 256 bytes (about what a one-event commit writes:
    its event line and its commit line), in the journal's directory."""
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    line = b"x" * 255 + b"\n"
    n = 0
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            os.write(fd, line)
            os.fdatasync(fd)
            n += 1
    finally:
        os.close(fd)
        path.unlink()
    elapsed = time.perf_counter() - start
    return {"appendsPerSecond": round(n / elapsed), "meanMicroseconds": round(elapsed / n * 1e6, 1)}


def profile_top(profiler: cProfile.Profile, n: int) -> list[str]:
    """The header line and the top `n` functions by cumulative time, as text lines for a JSON report."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(n)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    start_at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return lines[start_at : start_at + n + 1]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    On Linux this is VmHWM of /proc/self/status, not ru_maxrss: the kernel carries the parent's peak
    into `ru_maxrss` of a child across fork (or vfork) + exec, so a subprocess started by a big
    benchmark process would report the parent's peak (measured: 311 MiB for a child using 11 MiB).
    Elsewhere ru_maxrss (KiB on Linux and the BSDs; macOS reports bytes and is not handled).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_json_subprocess(script: str, *args: str) -> dict[str, Any]:
    """Run `script` with `args` in a fresh interpreter and parse the one JSON document it prints."""
    out = subprocess.run([sys.executable, script, *args], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout))


def machine() -> dict[str, Any]:
    """What the report says of the machine: cores, Python, platform, and how busy it was at the start."""
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
    }


def spread(values: list[float]) -> dict[str, Any]:
    """Median and maximum (and the rest of the spread) of seconds."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "min": round(min(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }
