"""The replication stream's framing: the active's journal lines as they are, a frame line per commit.

After its header, the stream ``GET …/cluster/journal`` carries each commit of the active's journal as
the event lines its journal holds (the bytes it wrote, not encoded again), followed by a frame line
``{"TYPE":"Commit","eventId":<the commit's last EventId>,"count":<its number of events>}``, and a
``{"TYPE":"Heartbeat"}`` line after each heartbeat without commits. (The frame line carries no hash:
each journal chains its own, from its own segment headers.) The standby decodes the events (it
applies them to its state) but writes the lines as they came (`persist_replicated(…, lines=)`), so
both journals hold byte-identical event lines in identical commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from js7es.domain.event import Stamped
from js7es.domain.value import loads
from js7es.journal.api import Lines
from js7es.journal.format import COMMIT_PREFIX, EVENT_PREFIX, decode_lines

HEARTBEAT = b'{"TYPE":"Heartbeat"}\n'


def encode_commits(commits: Iterable[Lines]) -> bytes:
    """The frames of `commits` (each a commit's event lines as the journal holds them)."""
    parts = []
    for c in commits:
        parts.append(c.data)
        parts.append(b'{"TYPE":"Commit","eventId":%d,"count":%d}\n' % (c.last_event_id, c.count))
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class ReplicatedCommit:
    """One of the active's commits: its events and its event lines as they came."""

    stamped: list[Stamped]
    lines: bytes


class ReplicationStreamError(ValueError):
    """The stream does not hold what the framing promises: the standby reads it again."""


class CommitDecoder:
    """Decodes the lines of the stream (without newlines, as `AsyncNodeClient.lines` gives them) chunk
    by chunk. `feed` returns, in stream order: a list of the complete commits that arrived together
    (one commit group: the standby writes and acknowledges it at once), None for a heartbeat, and any
    other object (the header) as its JSON. A commit's lines may span chunks."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []  # event lines of the commit whose frame line has not come yet

    def feed(self, lines: list[bytes]) -> list[list[ReplicatedCommit] | dict[str, Any] | None]:
        out: list[list[ReplicatedCommit] | dict[str, Any] | None] = []
        group: list[bytes] = []  # the event lines of the complete commits since the last flush
        frames: list[tuple[int, int]] = []  # (count, last EventId) of each of them

        def flush() -> None:
            if frames:
                out.append(_decode_group(group, frames))
                group.clear()
                frames.clear()

        for line in lines:
            if line.startswith(EVENT_PREFIX):
                self._pending.append(line)
            elif line.startswith(COMMIT_PREFIX):
                frame = loads(line)
                count, event_id = frame.get("count"), frame.get("eventId")
                if not self._pending or count != len(self._pending) or not isinstance(event_id, int):
                    raise ReplicationStreamError(f"commit frame {line[:120]!r} after {len(self._pending)} event lines")
                group += self._pending
                frames.append((count, event_id))
                self._pending = []
            else:
                flush()
                obj = loads(line)
                if not isinstance(obj, dict):  # a JSON array per commit: the framing of earlier versions
                    raise ReplicationStreamError("the active node frames its commits as an earlier version did")
                out.append(None if obj.get("TYPE") == "Heartbeat" else obj)
        flush()
        return out


def _decode_group(lines: list[bytes], frames: list[tuple[int, int]]) -> list[ReplicatedCommit]:
    """One json parse for all events of the group."""
    stamped = decode_lines(lines)
    commits = []
    i = 0
    for count, event_id in frames:
        events = stamped[i : i + count]
        if events[-1].event_id != event_id:
            raise ReplicationStreamError(
                f"commit frame eventId {event_id}, but its last event is {events[-1].event_id}"
            )
        commits.append(ReplicatedCommit(events, b"\n".join(lines[i : i + count]) + b"\n"))
        i += count
    return commits
