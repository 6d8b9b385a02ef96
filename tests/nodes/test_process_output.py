"""The OutputCollector: chunk size, flush delay, decoding, back-pressure on a slow consumer."""

from __future__ import annotations

import asyncio

from js7es.nodes.subagent.output import CHUNK_SIZE, HIGH_WATER, OutputCollector
from js7es.nodes.subagent.spec import StdoutOrStderr
from tests.nodes.test_process import run


def test_chunks_are_cut_at_8_ki_characters_and_the_rest_is_flushed_at_the_end() -> None:
    async def body() -> list[tuple[StdoutOrStderr, str]]:
        chunks: list[tuple[StdoutOrStderr, str]] = []

        async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
            chunks.append((kind, chunk))

        collector = OutputCollector(on_output, chunk_delay_s=3600)
        collector.feed_bytes("stdout", b"a" * (2 * CHUNK_SIZE + 10))
        collector.feed_bytes("stderr", "ü".encode()[:1])  # half a character ...
        collector.feed_bytes("stderr", "ü".encode()[1:] + b"\xff")  # ... completed, then an invalid byte
        await collector.drain()
        return chunks

    assert run(body()) == [
        ("stdout", "a" * CHUNK_SIZE),
        ("stdout", "a" * CHUNK_SIZE),
        ("stdout", "a" * 10),
        ("stderr", "ü\ufffd"),
    ]


def test_a_small_piece_is_delivered_after_the_delay() -> None:
    async def body() -> str:
        got: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
            got.set_result(chunk)

        collector = OutputCollector(on_output, chunk_delay_s=0.01)
        collector.feed_text("stdout", "x")
        collector.feed_text("stdout", "y")
        return await got  # nothing but the timer delivers it

    assert run(body()) == "xy"


def test_a_slow_consumer_pauses_the_source_and_nothing_is_lost() -> None:
    async def body() -> None:
        release = asyncio.Event()
        chunks: list[str] = []
        calls: list[str] = []

        async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
            await release.wait()
            chunks.append(chunk)

        collector = OutputCollector(
            on_output, chunk_delay_s=3600, pause=lambda: calls.append("pause"), resume=lambda: calls.append("resume")
        )
        for i in range(HIGH_WATER + 5):
            collector.feed_text("stdout", str(i % 10) * CHUNK_SIZE)
        assert calls == ["pause"]
        writer = asyncio.create_task(collector.write_text("stdout", "more"))  # a thread's writer waits
        await asyncio.sleep(0)
        assert not writer.done()
        release.set()
        await writer
        await collector.drain()
        assert calls == ["pause", "resume"]
        assert chunks == [str(i % 10) * CHUNK_SIZE for i in range(HIGH_WATER + 5)] + ["more"]

    run(body())


def test_a_failing_consumer_does_not_stop_the_delivery() -> None:
    async def body() -> list[str]:
        chunks: list[str] = []

        async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
            chunks.append(chunk)
            if len(chunks) == 1:
                raise RuntimeError("consumer bug")

        collector = OutputCollector(on_output, chunk_delay_s=3600)
        collector.feed_text("stdout", "a" * CHUNK_SIZE)
        collector.feed_text("stdout", "b")
        await collector.drain()
        return chunks

    assert run(body()) == ["a" * CHUNK_SIZE, "b"]
