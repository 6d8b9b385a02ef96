"""The journal: js7es's durable, hash-chained, segmented event log (JS7's journal, with fsync).

API (see `api.Journal`): `FileJournal.open(directory, name="controller", clock=...)` /
`MemoryJournal.open(store)` recover and expose `.recovered` (newest snapshot's JSON objects, the events
after it, last EventId, journalId); `persist(keyed_events) -> Future[list[Stamped]]` (one call = one
atomic commit), `persist_sync`, `on_committed(listener)`, `snapshot_async(source)` /
`take_snapshot(objects, at_event_id=N)`, `read(after, limit=)` (or Problem EventSeqTorn), `wait_for`,
`register_reader` / `acknowledge` / `release_events`, `close`.

File format (one directory, per journal `name`)
-----------------------------------------------
`<name>--<fileEventId>.journal` — a segment; fileEventId is the last EventId before the segment (0 for
the first), as in JS7. Every segment starts with a complete snapshot. JSON lines, UTF-8::

    {"TYPE":"JS7.Journal","typeName":name,"journalId":uuid,"eventId":fileEventId,"generation":n,
     "totalEventCount":k,"version":"1","timestamp":ms,"previousHash":h}
    "-------SNAPSHOT-------"
    {snapshot object}                      one per line, as the state wrote them
    "-------END OF SNAPSHOT-------"
    {"TYPE":"SnapshotCommit","eventId":fileEventId,"count":objects,"hash":h0}
    "-------EVENTS-------"
    {"eventId":…,"timestamp":…?,"Key":…?,"TYPE":…,…}   JS7's Stamped JSON (stamped_to_json), per line
    {"TYPE":"Commit","eventId":<last EventId of the commit>,"count":n,"hash":h1}
    …

Hash chain: `hash = sha256(previous hash as 64 hex ASCII chars + the exact bytes of the covered lines)`,
hex. h0 covers the header, the SNAPSHOT marker, the snapshot lines and the END OF SNAPSHOT marker, and
chains to `previousHash` (the previous segment's last hash; 64 zeros for the first segment). Every
commit — also of a single event — ends with a Commit line whose hash covers its event lines (with their
newlines) and chains to the previous commit (or h0). Lines are told apart by their first bytes
(`{"eventId":` vs `{"TYPE":"Commit",`). `<name>-readers.json` holds the registered readers and their
acknowledged EventIds (`{"TYPE":"JournalReaders","readers":{id: eventId}}`, written to .tmp, fsynced,
renamed, directory fsynced).

Writing: `persist` encodes the events on the caller's thread, assigns EventIds (max(now*1000, last+1))
and queues the commit under one lock, so queue order is EventId order. One writer thread takes every
queued commit, computes the chained hashes, does ONE write() and ONE fdatasync for the whole group, then
per commit calls the `on_committed` listeners and completes its future. A failed write or fsync fails
those futures and every later call: the node must halt (the file may hold an unsynced partial group,
which is a torn tail at the next start).

Snapshots: `snapshot_async(source)` is queued like a commit; the writer runs `source()` after every
earlier commit is durable and applied by the listeners, writes the new segment to `.tmp`, fsyncs,
renames it and fsyncs the directory, then writes later commits there. So no commit is split or lost
between segments, and the snapshot is exactly the state after the previous segment's last event.
`take_snapshot(objects, at_event_id=N)` is the blocking form for a caller that holds the state at N;
it is refused (Problem SnapshotEventIdMismatch) when the journal moved past N. No new events since the
last snapshot: nothing is done. (Unlike JS7 there is no SnapshotTaken event: the journal is
state-agnostic and the header already records the position.)

Recovery reads only the newest segment (stale `.tmp` files are deleted). A defect (partial line, bad
hash, wrong count, non-increasing EventId, undecodable line, garbage) with no complete Commit line
after it is a torn tail: the file is truncated at the end of the last complete commit and the
truncation fsynced. A defect followed by a valid Commit line is corruption: `open` raises
JournalCorruptError and `tools.verify` names the file, byte offset, line and first EventId of the bad
commit — acknowledged commits are never cut silently.

Release: `release_events()` deletes an old segment only when every registered reader acknowledged at
least the next segment's fileEventId (i.e. all of its events); without readers, up to the committed
position (as JS7 does without a cluster). The current segment is never deleted. A new reader holds all
segments kept at its registration. `read(after)` older than the oldest kept segment → EventSeqTorn.

Why not an `eventsourcing` recorder (library 9.5.6, measured in bench/journal_bench.py)
-----------------------------------------------------------------------------------
The library serves aggregates and projections (Cockpit side); the node journal needs what it lacks:
- group commit: its SQLite recorder does one transaction (one fsync) per `save`; concurrent savers
  serialize on the database lock instead of sharing one fsync. Measured on the same disk in one run:
  raw append+fdatasync 6,987/s; this journal 3,941 commits/s at 1 event (0.56 of raw), 36,291 events/s
  at 10 per commit (0.52), 235,155 events/s at 1000 per commit, 20,548 events/s from 64 threads with
  1 event per commit (2.9x raw, thanks to group commit); eventsourcing's SQLite recorder 3,210 events/s
  at 1 per transaction and 43,858 events/s at 100 per transaction (2 vCPU VM, Python 3.11.7);
- no hash chain, so `verify` could not prove a journal (or a standby's copy) unaltered;
- no segments with snapshots inside, hence no release of old events by reader acknowledgements;
- no byte-faithful replication: `insert_events` cannot carry the primary's positions, so a standby
  copy would renumber (PostgreSQL sequences leave gaps after failed inserts: ids 1,2,4,…), while JS7's
  protocol copies the primary's bytes at a file position;
- its DB-functions mode for PostgreSQL lets tailing readers miss ids (out-of-order commit), and SQLite
  has no subscriptions, so long-poll event streams would have to poll.
Only `bench/journal_bench.py` uses the library now, for that comparison. The Cockpit does not: it
borrows the library's idea (rows and the position consumed in one transaction) but writes with
SQLAlchemy Core, one transaction per batch with the stored EventId (js7es.projections.cockpit.projector).
"""

from js7es.journal.api import (
    Journal,
    JournalCorruptError,
    JournalError,
    Recovered,
    Segment,
)
from js7es.journal.file import FileJournal
from js7es.journal.memory import MemoryJournal, MemoryStore

__all__ = [
    "FileJournal",
    "Journal",
    "JournalCorruptError",
    "JournalError",
    "MemoryJournal",
    "MemoryStore",
    "Recovered",
    "Segment",
]
