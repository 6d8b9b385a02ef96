"""The journal: js7es's durable, hash-chained, segmented event log (JS7's journal, with fsync).

Placeholder docstring; completed below.
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
