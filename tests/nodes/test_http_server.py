"""End to end on a real uvicorn server: events stream while another thread persists; graceful shutdown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from js7es.journal import Journal, MemoryJournal
from tests.nodes.test_http_event_stream import PREFIX, READER, make_app, persist, wait_until_waiting
from tests.ports import free_port


@pytest.fixture
def journal() -> Iterator[Journal]:
    with MemoryJournal.open() as j:
        yield j


@pytest.fixture
def server(journal: Journal) -> Iterator[tuple[uvicorn.Server, str]]:
    port = free_port()
    config = uvicorn.Config(
        make_app(journal, max_duration=2.0), host="127.0.0.1", port=port, log_level="warning",
        ws="none", lifespan="on", timeout_graceful_shutdown=5,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # a condition, polled: uvicorn offers no event to wait on
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.005)
    yield server, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def test_events_stream_while_another_thread_persists(server: tuple[uvicorn.Server, str], journal: Journal) -> None:
    _, url = server
    after = persist(journal, 0)
    received: list[int] = []

    def persist_when_waiting() -> None:
        for n in range(1, 6):
            wait_until_waiting(journal)  # the stream has caught up and waits for the next commit
            persist(journal, n)

    persister = threading.Thread(target=persist_when_waiting)
    with (
        httpx.Client(headers=READER, timeout=10) as client,
        client.stream("GET", f"{url}{PREFIX}/event", params={"after": after, "heartbeat": 0.5, "limit": 5}) as r,
    ):
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
        lines = r.iter_lines()
        assert next(lines) == ""  # the heartbeat first: the stream is open
        persister.start()
        received.extend(json.loads(line)["n"] for line in lines if line)
    persister.join()
    assert received == [1, 2, 3, 4, 5]


def test_shutdown_with_an_open_heartbeat_stream_is_graceful(
    server: tuple[uvicorn.Server, str], journal: Journal
) -> None:
    uvicorn_server, url = server
    with (
        httpx.Client(headers=READER, timeout=10) as client,
        client.stream("GET", f"{url}{PREFIX}/event", params={"heartbeat": 0.1}) as r,
    ):
        lines = r.iter_lines()
        assert next(lines) == ""
        uvicorn_server.should_exit = True
        started = time.monotonic()
        rest = list(lines)  # the stream ends by itself at max_duration, with a complete chunked body
    assert time.monotonic() - started < 4.5
    assert rest and all(line == "" for line in rest)
