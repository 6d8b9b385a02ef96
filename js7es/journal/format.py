"""The segment file format: naming, encoding of lines, the hash chain, and one scanner for all readers.

See the package docstring for the layout. Everything that reads a segment (recovery, `read`,
`read_commits`, `verify`, `dump`, `replay`, `truncate_after`) goes through `scan_segment`,
`iter_event_lines` or `iter_commits`, so there is one parser to trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from js7es.domain import codec
from js7es.domain.event import NO_KEY, Event, Stamped, new_stamped
from js7es.domain.value import dumps as value_dumps
from js7es.domain.value import loads

JsonObject = dict[str, Any]

JOURNAL_TYPE = "JS7.Journal"
VERSION = "1"
ZERO_HASH = "0" * 64
SNAPSHOT_MARKER = b'"-------SNAPSHOT-------"\n'
END_OF_SNAPSHOT_MARKER = b'"-------END OF SNAPSHOT-------"\n'
EVENTS_MARKER = b'"-------EVENTS-------"\n'
EVENT_PREFIX = b'{"eventId":'
COMMIT_PREFIX = b'{"TYPE":"Commit",'
COMMIT_EVENT_ID_PREFIX = COMMIT_PREFIX + b'"eventId":'  # as commit_line writes it
SNAPSHOT_COMMIT_PREFIX = b'{"TYPE":"SnapshotCommit",'


# The one JSON writer of js7es (compact; Decimals exact, the C encoder for everything else).
dumps: Callable[[Any], str] = value_dumps


encode_string: Callable[[str], str] = json.encoder.encode_basestring


# ---------------------------------------------------------------------------------------------------
# Names


def segment_name(name: str, file_event_id: int) -> str:
    return f"{name}--{file_event_id}.journal"


def list_segments(directory: Path, name: str) -> list[tuple[int, Path]]:
    """The segment files of journal `name`, oldest first, as (fileEventId, path)."""
    pattern = re.compile(re.escape(name) + r"--(\d+)\.journal")
    found = []
    for entry in os.scandir(directory):
        m = pattern.fullmatch(entry.name)
        if m:
            found.append((int(m.group(1)), Path(entry.path)))
    found.sort()
    return found


def journal_names(directory: Path) -> list[str]:
    names = {m.group(1) for e in os.scandir(directory) if (m := re.fullmatch(r"(.+)--\d+\.journal", e.name))}
    return sorted(names)


# ---------------------------------------------------------------------------------------------------
# Encoding


def chain(previous_hash: str, data: bytes) -> str:
    """The hash chain: sha256 over the previous hash (64 ASCII hex digits) and the exact bytes."""
    h = hashlib.sha256(previous_hash.encode("ascii"))
    h.update(data)
    return h.hexdigest()


def event_body(event: Event) -> str:
    """The event's own JSON (with TYPE), encoded once, outside any lock."""
    return dumps(codec.encode(event))


def event_line(event_id: int, timestamp_ms: int, key: str, body: str) -> str:
    """The line of a Stamped event: equal to value.dumps(stamped_to_json(stamped)) plus a newline.

    One f-string per case (the journal writes a line per event: 0.5 instead of 0.8 µs)."""
    if timestamp_ms == event_id // 1000:
        if key == NO_KEY:
            return f'{{"eventId":{event_id},{body[1:]}\n'
        return f'{{"eventId":{event_id},"Key":{encode_string(key)},{body[1:]}\n'
    if key == NO_KEY:
        return f'{{"eventId":{event_id},"timestamp":{timestamp_ms},{body[1:]}\n'
    return f'{{"eventId":{event_id},"timestamp":{timestamp_ms},"Key":{encode_string(key)},{body[1:]}\n'


def commit_line(last_event_id: int, count: int, hash_: str) -> bytes:
    return f'{{"TYPE":"Commit","eventId":{last_event_id},"count":{count},"hash":"{hash_}"}}\n'.encode()


@dataclass(frozen=True, slots=True)
class Header:
    journal_id: str
    event_id: int  # fileEventId: the last EventId before this segment
    generation: int
    timestamp: int
    previous_hash: str
    total_event_count: int
    name: str

    def to_line(self) -> bytes:
        obj = {
            "TYPE": JOURNAL_TYPE,
            "typeName": self.name,
            "journalId": self.journal_id,
            "eventId": self.event_id,
            "generation": self.generation,
            "totalEventCount": self.total_event_count,
            "version": VERSION,
            "timestamp": self.timestamp,
            "previousHash": self.previous_hash,
        }
        return (dumps(obj) + "\n").encode()

    @staticmethod
    def from_json(obj: Any) -> Header:
        if not isinstance(obj, dict) or obj.get("TYPE") != JOURNAL_TYPE or obj.get("version") != VERSION:
            raise ValueError("not a js7es journal header (version 1)")
        return Header(
            journal_id=str(obj["journalId"]),
            event_id=int(obj["eventId"]),
            generation=int(obj["generation"]),
            timestamp=int(obj["timestamp"]),
            previous_hash=str(obj["previousHash"]),
            total_event_count=int(obj["totalEventCount"]),
            name=str(obj.get("typeName", "")),
        )


def segment_prefix(header: Header, snapshot_lines: Sequence[bytes]) -> tuple[bytes, str]:
    """Header, snapshot and markers up to the EVENTS marker, and the hash that the first commit chains to."""
    covered = b"".join([header.to_line(), SNAPSHOT_MARKER, *snapshot_lines, END_OF_SNAPSHOT_MARKER])
    hash_ = chain(header.previous_hash, covered)
    snapshot_commit = dumps(
        {"TYPE": "SnapshotCommit", "eventId": header.event_id, "count": len(snapshot_lines), "hash": hash_}
    )
    return covered + snapshot_commit.encode() + b"\n" + EVENTS_MARKER, hash_


# ---------------------------------------------------------------------------------------------------
# Decoding


def decode_stamped(obj: JsonObject) -> Stamped:
    """stamped_from_json, faster (it owns `obj`)."""
    event_id = obj.pop("eventId")
    if not isinstance(event_id, int) or isinstance(event_id, bool):
        raise codec.CodecError("eventId must be an integer")
    timestamp = obj.pop("timestamp", event_id // 1000)
    key = obj.pop("Key", NO_KEY)
    return new_stamped(event_id, timestamp, key, codec.decode(obj, Event))


def decode_lines(lines: Sequence[bytes]) -> list[Stamped]:
    """Decode event lines (each with its newline) with one json parse for all."""
    objs = loads(b"[" + b",".join(line.rstrip(b"\n") for line in lines) + b"]")
    return [decode_stamped(o) for o in objs]


@dataclass(slots=True)
class Defect:
    """A bad place in a segment. `torn` means it can be a torn tail: nothing valid follows it."""

    path: Path
    offset: int  # byte offset of the start of the first bad commit (or line)
    line: int  # 1-based line number there
    event_id: int | None  # the first EventId of the bad commit, when it could be read
    message: str
    torn: bool

    def to_json(self) -> JsonObject:
        return {
            "file": str(self.path),
            "offset": self.offset,
            "line": self.line,
            "eventId": self.event_id,
            "message": self.message,
            "torn": self.torn,
        }


@dataclass(slots=True)
class SegmentScan:
    path: Path
    header: Header
    snapshot: list[JsonObject]
    events: list[Stamped]  # decoded events of all complete commits (when decode_events)
    good_end: int  # byte offset just after the last complete, valid commit
    last_event_id: int
    last_hash: str
    event_count: int
    commit_count: int
    size: int
    defect: Defect | None = None
    commit_ends: list[tuple[int, int]] = field(default_factory=list)  # sparse (lastEventId, end offset)
    commit_sizes: list[int] = field(default_factory=list)  # events per commit (when decode_events)
    events_start: int = 0  # byte offset just after the EVENTS marker


class SegmentError(Exception):
    """A segment whose header or snapshot cannot be read: never a torn tail (snapshots are renamed in)."""


def scan_segment(
    path: Path,
    *,
    decode_events: bool = True,
    check_events: bool = True,
    index_every: int = 1 << 18,
) -> SegmentScan:
    """Read and check one segment: header, snapshot hash, every commit's hash, count and EventIds.

    Stops at the first defect. `check_events` decodes every event through the codec (needed to prove
    each line readable; recovery does it anyway when `decode_events`). `index_every=0` lists every
    commit end in `commit_ends` (what `truncate_after` needs to find an exact cut).

    The file is read a line at a time: besides the snapshot (and the decoded events when
    `decode_events`), only one commit's lines are held, so that a long journal is checked in memory
    independent of its length.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size

        def bad_prefix(msg: str) -> SegmentError:
            return SegmentError(f"{path}: {msg}")

        try:
            header = Header.from_json(loads(f.readline()))
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise bad_prefix(f"bad header: {e}") from None
        if f.readline() != SNAPSHOT_MARKER:
            raise bad_prefix("missing SNAPSHOT marker")
        snapshot_lines: list[bytes] = []
        while True:
            line = f.readline()
            if not line.endswith(b"\n"):
                raise bad_prefix("incomplete snapshot section")
            if line == END_OF_SNAPSHOT_MARKER:
                break
            snapshot_lines.append(line)
        prefix, hash_ = segment_prefix(header, snapshot_lines)
        f.seek(0)
        if f.read(len(prefix)) != prefix:
            raise bad_prefix("snapshot hash mismatch (header or snapshot corrupt)")
        try:
            snapshot = loads(b"[" + b",".join(s[:-1] for s in snapshot_lines) + b"]")
        except ValueError as e:
            raise bad_prefix(f"undecodable snapshot object: {e}") from None
        offset = len(prefix)
        scan = SegmentScan(
            path=path,
            header=header,
            snapshot=snapshot,
            events=[],
            good_end=offset,
            last_event_id=header.event_id,
            last_hash=hash_,
            event_count=0,
            commit_count=0,
            size=size,
            events_start=offset,
        )
        del snapshot_lines
        line_no = prefix.count(b"\n")  # lines before the first event line
        last_indexed = offset
        pending: list[bytes] = []
        commit_start = offset
        commit_line_no = line_no + 1
        pos = offset

        def defect(message: str, following_from: int) -> Defect:
            """`following_from`: the byte offset after which a complete commit line proves corruption."""
            follows = _commit_line_follows(f, following_from)
            return _defect(path, commit_start, commit_line_no, pending, message, follows)

        for line in f:
            line_no += 1
            if not line.endswith(b"\n"):
                scan.defect = defect("partial line", pos + len(line))
                break
            if line.startswith(EVENT_PREFIX):
                pending.append(line)
            elif line.startswith(COMMIT_PREFIX):
                problem = _check_commit(scan, line[:-1], pending, decode_events, check_events)
                if problem is not None:  # a complete commit line that fails its check: corruption
                    scan.defect = defect(problem, pos)
                    break
                scan.good_end = pos + len(line)
                if scan.good_end - last_indexed >= index_every:
                    scan.commit_ends.append((scan.last_event_id, scan.good_end))
                    last_indexed = scan.good_end
                pending = []
                commit_start = scan.good_end
                commit_line_no = line_no + 1
            else:
                scan.defect = defect("unexpected line", pos + len(line))
                break
            pos += len(line)
        else:
            if pending:
                scan.defect = defect("commit line missing", size)
    return scan


def _commit_line_follows(f: BinaryIO, offset: int) -> bool:
    """Whether a complete, valid-looking commit line starts at or after byte `offset` of `f` (the
    difference between a torn tail and corruption; read only when a defect was found)."""
    f.seek(offset)
    return any(line.endswith(b"\n") and _is_commit_line(line[:-1]) for line in f)


def _check_commit(
    scan: SegmentScan, line: bytes, pending: list[bytes], decode_events: bool, check_events: bool
) -> str | None:
    try:
        commit = loads(line)
        commit_event_id, count, hash_ = commit["eventId"], commit["count"], commit["hash"]
    except (ValueError, KeyError, TypeError):
        return "undecodable commit line"
    if count != len(pending) or count == 0:
        return f"commit count {count} but {len(pending)} event lines"
    new_hash = chain(scan.last_hash, b"".join(pending))
    if new_hash != hash_:
        return "hash mismatch"
    if decode_events or check_events:
        try:
            stamped = decode_lines(pending)
        except (ValueError, codec.CodecError, KeyError, TypeError) as e:
            return f"undecodable event: {e}"
        last = scan.last_event_id
        for s in stamped:
            if s.event_id <= last:
                return f"EventId {s.event_id} does not increase (after {last})"
            last = s.event_id
        if decode_events:
            scan.events.extend(stamped)
            scan.commit_sizes.append(count)
    else:
        last = _event_id_of(pending[-1])
        if _event_id_of(pending[0]) <= scan.last_event_id:
            return "EventId does not increase"
    if last != commit_event_id:
        return f"commit eventId {commit_event_id} differs from last event {last}"
    scan.last_event_id = last
    scan.last_hash = new_hash
    scan.event_count += count
    scan.commit_count += 1
    return None


_DIGITS = re.compile(rb"\d*")


def _event_id_of(line: bytes) -> int:
    """The EventId at the start of an event line (ValueError without one): one C match per line,
    not a Python loop over its digits (a rebuild reads every line of the journal)."""
    match = _DIGITS.match(line, len(EVENT_PREFIX))
    assert match is not None  # \d* matches the empty string too
    return int(match[0])


def _defect(path: Path, offset: int, line_no: int, pending: list[bytes], message: str, commit_follows: bool) -> Defect:
    event_id: int | None
    try:
        event_id = _event_id_of(pending[0]) if pending else None
    except ValueError:
        event_id = None
    # A torn tail has no complete commit line after the defect; anything else is corruption.
    return Defect(path, offset, line_no, event_id, message, torn=not commit_follows)


def _is_commit_line(line: bytes) -> bool:
    if not line.startswith(COMMIT_PREFIX):
        return False
    try:
        obj = loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and isinstance(obj.get("eventId"), int) and isinstance(obj.get("hash"), str)


_CHUNK = 1 << 18  # bytes read at a time by the readers below: what they hold besides one batch of events


def _line_batches(f: BinaryIO, start: int | None, end: int | None) -> Iterator[list[bytes]]:
    """The complete lines (without newline) between byte offsets `start` and `end`, a chunk at a time.

    `start=None` means from the EVENTS marker. A last line without its newline is left out.
    """
    if start is None:
        f.seek(0)
        start = 0
        for line in f:
            start += len(line)
            if line == EVENTS_MARKER:
                break
    f.seek(start)
    remaining = None if end is None else end - start
    rest = b""
    while remaining is None or remaining > 0:
        chunk = f.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            break
        if remaining is not None:
            remaining -= len(chunk)
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        yield parts


def iter_event_lines(f: BinaryIO, start: int | None, end: int | None, after: int) -> Iterator[bytes]:
    """Event lines of committed commits in `f` between byte offsets `start` and `end`, EventId > after.

    `start=None` means from the EVENTS marker. Reads in chunks; trusts the region (recovery or the
    writer checked it).
    """
    for lines in _line_batches(f, start, end):
        for line in lines:
            if line.startswith(EVENT_PREFIX) and _event_id_of(line) > after:
                yield line + b"\n"


def iter_event_lines_with_ids(
    f: BinaryIO, start: int | None, end: int | None, after: int
) -> Iterator[tuple[int, bytes]]:
    """`iter_event_lines` with each line's EventId: (EventId, line with its newline)."""
    for lines in _line_batches(f, start, end):
        for line in lines:
            if line.startswith(EVENT_PREFIX):
                event_id = _event_id_of(line)
                if event_id > after:
                    yield event_id, line + b"\n"


def iter_commits(f: BinaryIO, start: int | None, end: int | None) -> Iterator[tuple[int, list[bytes]]]:
    """The commits in `f` between byte offsets `start` and `end`: (the commit's last EventId, its event
    lines with their newlines), one per Commit line, in file order.

    The sibling of `iter_event_lines` for readers that must keep the commit grouping (replication:
    a standby appends each of the active's commits as one commit). `start` must be a commit boundary
    (None: the EVENTS marker); event lines without a Commit line after them (a torn tail) are left out.
    Trusts the region like `iter_event_lines`.
    """
    pending: list[bytes] = []
    for lines in _line_batches(f, start, end):
        for line in lines:
            if line.startswith(EVENT_PREFIX):
                pending.append(line + b"\n")
            elif line.startswith(COMMIT_PREFIX):
                yield commit_event_id_of(line), pending
                pending = []


def commit_event_id_of(line: bytes) -> int:
    """The eventId of a Commit line, read from its fixed prefix without a JSON parse."""
    if line.startswith(COMMIT_EVENT_ID_PREFIX):
        end = start = len(COMMIT_EVENT_ID_PREFIX)
        while line[end : end + 1].isdigit():
            end += 1
        if end > start:
            return int(line[start:end])
    return int(loads(line)["eventId"])  # not as commit_line writes it: parse it fully
