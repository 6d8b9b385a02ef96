"""Offline tools over a journal directory: verify, dump, replay (the CLI wires them up).

They read the files only; they never repair. Event classes must be registered (js7es.domain.events).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from js7es.domain.event import Stamped, stamped_to_json
from js7es.domain.problem import Problem
from js7es.domain.value import loads
from js7es.journal.api import JournalCorruptError
from js7es.journal.file import RecoveredEvents
from js7es.journal.format import (
    Defect,
    Header,
    SegmentError,
    decode_lines,
    dumps,
    iter_event_lines,
    journal_names,
    list_segments,
    scan_segment,
)
from js7es.journal.state import JournaledState

JsonObject = dict[str, Any]
S = TypeVar("S", bound=JournaledState)


def journal_name(directory: Path, name: str | None) -> str:
    if name is not None:
        return name
    names = journal_names(directory)
    if len(names) != 1:
        raise ValueError(f"{directory}: expected one journal, found {names or 'none'}; pass name=")
    return names[0]


# ---------------------------------------------------------------------------------------------------
# verify


@dataclass(slots=True)
class VerifyResult:
    ok: bool
    segments: int = 0
    commits: int = 0
    events: int = 0
    last_event_id: int = 0
    errors: list[Defect] = field(default_factory=list)  # the first bad place of each damaged segment
    torn_tail: Defect | None = None  # an incomplete last commit: recovery will cut it; not an error

    def to_json(self) -> JsonObject:
        return {
            "ok": self.ok,
            "segments": self.segments,
            "commits": self.commits,
            "events": self.events,
            "lastEventId": self.last_event_id,
            "errors": [e.to_json() for e in self.errors],
            "tornTail": self.torn_tail.to_json() if self.torn_tail else None,
        }


def verify(directory: Path | str, *, name: str | None = None) -> VerifyResult:
    """Check every segment: header, snapshot hash, each commit's hash chained across segments, counts,
    strictly increasing EventIds, and that every event decodes through the registered classes."""
    directory = Path(directory)
    name = journal_name(directory, name)
    found = list_segments(directory, name)
    result = VerifyResult(ok=True, segments=len(found))
    previous: tuple[Header, str, int] | None = None  # header, last hash, last EventId
    for k, (file_event_id, path) in enumerate(found):
        is_last = k == len(found) - 1
        try:
            scan = scan_segment(path, decode_events=False, check_events=True)
        except SegmentError as e:
            result.errors.append(Defect(path, 0, 1, None, str(e), torn=False))
            previous = None
            continue
        header = scan.header
        mismatch = None
        if header.event_id != file_event_id:
            mismatch = f"header eventId {header.event_id} differs from the file name"
        elif previous is not None:
            prev_header, prev_hash, prev_last = previous
            if header.journal_id != prev_header.journal_id:
                mismatch = f"journalId {header.journal_id} differs from {prev_header.journal_id}"
            elif header.event_id != prev_last:
                mismatch = f"segment starts after {header.event_id}, the previous one ends at {prev_last}"
            elif header.previous_hash != prev_hash:
                mismatch = "previousHash does not chain to the previous segment's last commit"
            elif header.generation <= prev_header.generation:
                mismatch = "generation does not increase"
        if mismatch:
            result.errors.append(Defect(path, 0, 1, None, mismatch, torn=False))
        if scan.defect is not None:
            if is_last and scan.defect.torn:
                result.torn_tail = scan.defect
            else:
                result.errors.append(scan.defect)
        result.commits += scan.commit_count
        result.events += scan.event_count
        result.last_event_id = scan.last_event_id
        previous = (header, scan.last_hash, scan.last_event_id)
    result.ok = not result.errors
    return result


# ---------------------------------------------------------------------------------------------------
# dump

DumpFormat = Callable[[Iterable[Stamped]], Iterator[str]]


def _json_lines(events: Iterable[Stamped]) -> Iterator[str]:
    for stamped in events:
        yield dumps(stamped_to_json(stamped))


def _avro_hex_lines(events: Iterable[Stamped]) -> Iterator[str]:
    """One line per event: hex of its Avro single-object encoding (js7es.journal.avro, schemas/)."""
    from js7es.journal.avro import avro_dump_lines  # imported on use: fastavro only when asked for

    return avro_dump_lines(events)


# The hook for more formats: the schemas engineer registers "avro" here (e.g. base64 lines or a
# binary container written by the CLI; widen the element type to bytes then).
DUMP_FORMATS: dict[str, DumpFormat] = {"json": _json_lines, "avro": _avro_hex_lines}


def register_dump_format(fmt: str, formatter: DumpFormat) -> None:
    DUMP_FORMATS[fmt] = formatter


def committed_events(directory: Path | str, *, after: int = 0, name: str | None = None) -> Iterator[Stamped]:
    """Every committed event after `after` in the kept segments (a torn tail is left out)."""
    directory = Path(directory)
    name = journal_name(directory, name)
    for _, path in list_segments(directory, name):
        scan = scan_segment(path, decode_events=False, check_events=False)
        if scan.last_event_id <= after:
            continue
        with open(path, "rb") as f:
            batch: list[bytes] = []
            for line in iter_event_lines(f, None, scan.good_end, after):
                batch.append(line)
                if len(batch) >= 1000:
                    yield from decode_lines(batch)
                    batch = []
            if batch:
                yield from decode_lines(batch)


def dump(directory: Path | str, after: int = 0, fmt: str = "json", *, name: str | None = None) -> Iterator[str]:
    """The committed events after `after`, one line each (JS7's Stamped JSON for fmt="json")."""
    formatter = DUMP_FORMATS.get(fmt)
    if formatter is None:
        raise ValueError(f"unknown dump format {fmt!r}; known: {sorted(DUMP_FORMATS)}")
    return formatter(committed_events(directory, after=after, name=name))


# ---------------------------------------------------------------------------------------------------
# replay


@dataclass(slots=True)
class ReplayResult:
    state: Any
    event_count: int
    last_event_id: int
    segments: int
    snapshots_compared: int  # later segments' snapshots compared with the replayed state
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> JsonObject:
        return {
            "ok": self.ok,
            "events": self.event_count,
            "lastEventId": self.last_event_id,
            "segments": self.segments,
            "snapshotsCompared": self.snapshots_compared,
            "problems": self.problems,
            "summary": self.state.summary(),
            "stateHash": self.state.state_hash(),
        }


def replay(
    directory: Path | str,
    state_factory: type[S],
    progress: bool = True,
    *,
    name: str | None = None,
) -> ReplayResult:
    """Rebuild the state from the oldest kept snapshot through every event, proving at each later
    segment that the replayed state equals that segment's snapshot, and at the end that the state
    survives its own snapshot round trip."""
    directory = Path(directory)
    name = journal_name(directory, name)
    found = list_segments(directory, name)
    show = progress and sys.stderr.isatty()
    bar = tqdm(total=None, unit=" events", disable=not show, file=sys.stderr, mininterval=0.5)
    state: S | None = None
    result = ReplayResult(None, 0, 0, len(found), 0)
    try:
        for k, (_, path) in enumerate(found):
            # The events are read from the file as they are replayed (memory independent of its length).
            scan = scan_segment(path, decode_events=False, check_events=False)
            events = RecoveredEvents(path, scan.events_start, scan.good_end, scan.event_count)
            snapshot_state = state_factory.from_snapshot(scan.snapshot)
            if state is None:
                state = snapshot_state
            else:
                result.snapshots_compared += 1
                if state.state_hash() != snapshot_state.state_hash():
                    result.problems.append(
                        f"{path.name}: snapshot at {scan.header.event_id} differs from the replayed state"
                    )
            if scan.defect is not None and not (k == len(found) - 1 and scan.defect.torn):
                result.problems.append(f"{path.name}: {scan.defect.message} at byte {scan.defect.offset}")
            try:
                for stamped in events:
                    applied = state.apply_stamped(stamped)
                    if isinstance(applied, Problem):
                        result.problems.append(
                            f"{path.name}: event {stamped.event_id} ({type(stamped.event).__name__} of "
                            f"{stamped.key or 'the node'}; replayed event no. {result.event_count + 1}) "
                            f"does not apply: {applied}"
                        )
                        result.state = state
                        return result
                    state = applied
                    result.event_count += 1
                    result.last_event_id = stamped.event_id
            except JournalCorruptError as e:  # an event that the hash chain vouches for but cannot be read
                result.problems.append(str(e))
                result.state = state
                return result
            bar.update(scan.event_count)
            if scan.defect is not None:
                break
    finally:
        bar.close()
    if state is not None:
        roundtrip = state_factory.from_snapshot(loads(dumps(list(state.snapshot_objects()))))
        if roundtrip.state_hash() != state.state_hash():
            result.problems.append("the replayed state differs from its own snapshot round trip")
    result.state = state
    return result
