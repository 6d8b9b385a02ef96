"""JS7's event stream over HTTP on real journals: after/limit/timeout, waking up, heartbeats, bounds, torn."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Route

from js7es.domain import codec
from js7es.domain.event import Event, KeyedEvent, stamped_to_json
from js7es.domain.value import dumps
from js7es.journal import FileJournal, Journal, MemoryJournal
from js7es.nodes.http import Authenticator, NodeOverview, Users, build_app, event_stream, event_stream_route
from js7es.nodes.http.event_stream import CommitSignal, commit_signal

with warnings.catch_warnings():  # starlette 1.10 prefers httpx2 for its TestClient; httpx works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PREFIX = "/test/api"
READER = {"authorization": "Basic " + base64.b64encode(b"reader:secret").decode()}


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class TestHttpEvent(Event):
    __test__ = False  # not a pytest test class

    n: int


def persist(journal: Journal, *ns: int) -> int:
    stamped = journal.persist_sync([KeyedEvent(f"key-{n}", TestHttpEvent(n=n)) for n in ns], timeout=10)
    return stamped[-1].event_id


def make_app(journal: Journal, *, max_duration: float = 60.0, chunk_events: int = 1000, **options: Any) -> Any:
    users = Users.from_config(
        {"reader": {"password": "plain:secret", "permissions": ["ReadState"]}, "other": {"password": "plain:x"}}
    )
    auth = Authenticator(users, failed_login_delay=0)
    stream = event_stream_route(
        lambda: journal, authenticator=auth, max_duration=max_duration, chunk_events=chunk_events, **options
    )
    return build_app(
        prefix=PREFIX,
        overview=NodeOverview(id="TestNode"),
        authenticator=auth,
        routes=[Route(f"{PREFIX}/event", stream)],
    )


@pytest.fixture
def journal() -> Iterator[Journal]:
    with MemoryJournal.open() as j:
        yield j


@pytest.fixture
def client(journal: Journal) -> Iterator[TestClient]:
    with TestClient(make_app(journal), headers=READER) as c:
        yield c


def events_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.split("\n") if line]


def wait_until_waiting(journal: Journal) -> None:
    """Block until a request waits on the journal's commit signal (a condition, not a guessed sleep)."""
    signal = commit_signal(journal)
    deadline = time.monotonic() + 10
    while not signal._waiters:
        assert time.monotonic() < deadline, "no request is waiting"
        time.sleep(0.001)


def test_after_defaults_to_the_last_event(client: TestClient, journal: Journal) -> None:
    persist(journal, 1, 2, 3)
    assert events_of(client.get(f"{PREFIX}/event")) == []
    events = events_of(client.get(f"{PREFIX}/event?after=0"))
    assert [(e["TYPE"], e["Key"], e["n"]) for e in events] == [("TestHttpEvent", f"key-{n}", n) for n in (1, 2, 3)]
    assert [e["eventId"] for e in events] == sorted(e["eventId"] for e in events)
    assert events_of(client.get(f"{PREFIX}/event?after={events[0]['eventId']}"))[0]["n"] == 2


def test_limit_across_chunks(journal: Journal) -> None:
    persist(journal, *range(1, 8))
    with TestClient(make_app(journal, chunk_events=2), headers=READER) as client:
        assert [e["n"] for e in events_of(client.get(f"{PREFIX}/event?after=0&limit=3"))] == [1, 2, 3]
        assert [e["n"] for e in events_of(client.get(f"{PREFIX}/event?after=0"))] == list(range(1, 8))
        assert [e["n"] for e in events_of(client.get(f"{PREFIX}/event?after=0&limit=100"))] == list(range(1, 8))


def test_timeout_without_events_answers_empty_after_the_timeout(client: TestClient) -> None:
    started = time.monotonic()
    assert events_of(client.get(f"{PREFIX}/event?timeout=0.2")) == []
    assert 0.2 <= time.monotonic() - started < 5


def test_a_waiting_poll_wakes_up_when_another_thread_commits(client: TestClient, journal: Journal) -> None:
    after = persist(journal, 1)

    def commit_when_waiting() -> None:
        wait_until_waiting(journal)
        persist(journal, 2)

    committer = threading.Thread(target=commit_when_waiting)
    committer.start()
    started = time.monotonic()
    events = events_of(client.get(f"{PREFIX}/event?after={after}&timeout=30&limit=1"))
    committer.join()
    assert [e["n"] for e in events] == [2]
    assert time.monotonic() - started < 10  # woken up, not timed out


def test_heartbeat_lines_while_nothing_happens(client: TestClient, journal: Journal) -> None:
    persist(journal, 1)
    response = client.get(f"{PREFIX}/event?after=0&heartbeat=0.05&timeout=0.4")
    lines = response.text.split("\n")
    assert lines[0] == ""  # the heartbeat comes first
    assert json.loads(lines[1])["n"] == 1
    assert lines[2:].count("") >= 3 and all(line == "" for line in lines[2:])


def test_every_stream_ends_after_max_duration(journal: Journal) -> None:
    with TestClient(make_app(journal, max_duration=0.3), headers=READER) as client:
        for query in ["heartbeat=0.05", "timeout=1000", "timeout=Infinity", "heartbeat=10&timeout=100"]:
            started = time.monotonic()
            response = client.get(f"{PREFIX}/event?{query}")
            assert response.status_code == 200
            assert 0.3 <= time.monotonic() - started < 5, query


def test_event_seq_torn_after_release(tmp_path: Path) -> None:
    with FileJournal.open(tmp_path, name="test") as journal:
        persist(journal, 1, 2)
        snapshot_at = persist(journal, 3)
        journal.take_snapshot([], at_event_id=snapshot_at, timeout=10)
        persist(journal, 4, 5)
        assert journal.release_events()
        with TestClient(make_app(journal), headers=READER) as client:
            response = client.get(f"{PREFIX}/event?after=0&heartbeat=1")
            assert response.status_code == 400 and response.headers["content-type"] == "application/json"
            body = response.json()
            assert body["code"] == "EventSeqTorn" and body["arguments"]["tornEventId"] == str(snapshot_at)
            assert [e["n"] for e in events_of(client.get(f"{PREFIX}/event?after={snapshot_at}"))] == [4, 5]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("after=-1", "after"), ("after=abc", "after"), ("after=1.5", "after"), ("limit=0", "limit"),
     ("timeout=soon", "timeout"), ("timeout=-1", "timeout"), ("heartbeat=0", "heartbeat"),
     ("delay=NaN", "delay"), ("return=OrderAdded", "return"), ("onlyAcks=true", "onlyAcks")],
)  # fmt: skip
def test_bad_parameters_are_400(client: TestClient, query: str, parameter: str) -> None:
    response = client.get(f"{PREFIX}/event?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameter" and body["arguments"]["parameter"] == parameter


def test_after_beyond_the_last_event_is_refused(client: TestClient, journal: Journal) -> None:
    last = persist(journal, 1)
    response = client.get(f"{PREFIX}/event?after={last + 1}")
    assert response.status_code == 400 and response.json()["code"] == "UnknownEventId"


def test_delay_is_accepted_and_batches(client: TestClient, journal: Journal) -> None:
    after = persist(journal, 1)

    def commit_when_waiting() -> None:
        wait_until_waiting(journal)
        persist(journal, 2)
        persist(journal, 3)

    committer = threading.Thread(target=commit_when_waiting)
    committer.start()
    events = events_of(client.get(f"{PREFIX}/event?after={after}&timeout=30&delay=0.05&limit=2"))
    committer.join()
    assert [e["n"] for e in events] == [2, 3]


def test_the_stream_needs_read_state(journal: Journal) -> None:
    with TestClient(make_app(journal)) as client:
        assert client.get(f"{PREFIX}/event").status_code == 401
        assert client.get(f"{PREFIX}/event", auth=("other", "x")).status_code == 403


def test_the_stream_serves_the_journal_lines_from_memory_and_from_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body is the journal's own lines (equal to encoding each event again), the recent tail from
    memory on the event loop, older events from the files in a worker thread."""
    disk_reads: list[int] = []
    real_read_lines = event_stream._read_lines

    def counting_read_lines(journal: Journal, after: int, limit: int) -> Any:
        disk_reads.append(after)
        return real_read_lines(journal, after, limit)

    monkeypatch.setattr(event_stream, "_read_lines", counting_read_lines)
    with FileJournal.open(tmp_path, name="test", cache_events=4) as journal:
        for n in range(0, 30, 3):
            persist(journal, n, n + 1, n + 2)
        events = list(journal.read(0))  # type: ignore[arg-type]
        reencoded = b"".join((dumps(stamped_to_json(s)) + "\n").encode() for s in events)
        in_file = b"".join(
            line for line in journal.current_path.read_bytes().splitlines(True) if line.startswith(b'{"eventId":')
        )
        assert reencoded == in_file
        with TestClient(make_app(journal, chunk_events=5), headers=READER) as client:
            response = client.get(f"{PREFIX}/event?after=0")
            assert response.status_code == 200 and response.content == reencoded
            assert disk_reads  # the cache holds the last 4 to 8 events only
            disk_reads.clear()
            head = events[-5].event_id  # within the last commits: in memory
            response = client.get(f"{PREFIX}/event?after={head}")
            assert response.content == reencoded[reencoded.index(b'{"eventId":%d' % events[-4].event_id) :]
            assert disk_reads == []
            # A waiting stream gets a new commit from memory.
            after = journal.last_event_id

            def commit_when_waiting() -> None:
                wait_until_waiting(journal)
                persist(journal, 99)

            committer = threading.Thread(target=commit_when_waiting)
            committer.start()
            response = client.get(f"{PREFIX}/event?after={after}&timeout=30&limit=1")
            committer.join()
            [new] = list(journal.read(after))  # type: ignore[arg-type]
            assert response.content == (dumps(stamped_to_json(new)) + "\n").encode()
            assert disk_reads == []


def test_another_encoding_is_still_served(journal: Journal) -> None:
    persist(journal, 1, 2, 3)
    app = make_app(journal, chunk_events=2, encode=lambda s: {"id": s.event_id, "n": s.event.n})
    with TestClient(app, headers=READER) as client:
        events = events_of(client.get(f"{PREFIX}/event?after=0"))
    assert [e["n"] for e in events] == [1, 2, 3] and set(events[0]) == {"id", "n"}


def test_a_commit_wakes_a_waiter_in_the_next_round_of_the_loop() -> None:
    """The replication stream and every long poll wait on the commit signal: a commit resumes them in
    the loop's next round after its wake-up call (an asyncio.Event under wait_for took three)."""

    async def run() -> None:
        with MemoryJournal.open() as journal:
            signal = CommitSignal()
            woken: list[bool] = []

            async def waiter() -> None:
                woken.append(await signal.wait(journal, journal.last_event_id, 60))

            task = asyncio.create_task(waiter())
            await asyncio.sleep(0)  # it waits now
            signal.committed([])  # as the writer thread would (call_soon_threadsafe)
            await asyncio.sleep(0)  # the wake-up call runs
            await asyncio.sleep(0)  # the waiter runs
            assert woken == [True]
            await task
            assert await signal.wait(journal, journal.last_event_id, 0.01) is False  # the timeout

    asyncio.run(run())
