"""Chunks of stdout and stderr: decoded, cut, delayed a little, delivered in order, bounded.

JS7 collects a process's output for 0.4 s into chunks of at most 8 Ki characters
(`js7.order.stdout-stderr.delay`, `...chunk-size`). js7es flushes after `chunk_delay_s`, 0.1 s by
default, for lower latency: a chunk becomes an event, so a shorter delay costs events, not latency.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections import deque
from collections.abc import Callable

from js7es.nodes.subagent.spec import OutputCallback, StdoutOrStderr

log = logging.getLogger(__name__)

CHUNK_SIZE = 8192  # characters, as JS7
DEFAULT_CHUNK_DELAY_S = 0.1
HIGH_WATER = 16  # chunks waiting for the callback before the source is paused ...
LOW_WATER = 4  # ... and resumed again
ERR_LINE_MAX = 1000


class _Stream:
    __slots__ = ("buffered", "closed", "decoder", "length", "timer")

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buffered: list[str] = []
        self.length = 0
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False


class OutputCollector:
    """Collects both streams of one process on the event loop thread and delivers chunks in one task.

    `pause`/`resume` are called when more than HIGH_WATER chunks wait for a slow callback and when
    they are down to LOW_WATER again: the process then blocks on its full pipe, memory stays bounded.
    """

    def __init__(
        self,
        on_output: OutputCallback,
        *,
        chunk_delay_s: float = DEFAULT_CHUNK_DELAY_S,
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
    ) -> None:
        self._on_output = on_output
        self._chunk_delay_s = chunk_delay_s
        self._pause = pause
        self._resume = resume
        self._paused = False
        self._streams: dict[StdoutOrStderr, _Stream] = {"stdout": _Stream(), "stderr": _Stream()}
        self._queue: deque[tuple[StdoutOrStderr, str]] = deque()
        self._sender: asyncio.Task[None] | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self.stderr_written = False
        self._last_err_line = ""

    @property
    def last_err_line(self) -> str | None:
        """The last non-blank line written to stderr (JS7 uses it as the error message)."""
        return self._last_err_line[:ERR_LINE_MAX] or None

    def feed_bytes(self, kind: StdoutOrStderr, data: bytes) -> None:
        self.feed_text(kind, self._streams[kind].decoder.decode(data))

    def feed_text(self, kind: StdoutOrStderr, text: str) -> None:
        if not text:
            return
        stream = self._streams[kind]
        if kind == "stderr":
            self.stderr_written = True
            self._keep_last_err_line(text)
        stream.buffered.append(text)
        stream.length += len(text)
        if stream.length >= CHUNK_SIZE:
            self._cut_full_chunks(kind, stream)
        if stream.length and stream.timer is None:
            stream.timer = asyncio.get_running_loop().call_later(self._chunk_delay_s, self.flush, kind)

    async def write_text(self, kind: StdoutOrStderr, text: str) -> None:
        """For sources that can wait (an internal job's thread): feed, then wait while paused."""
        self.feed_text(kind, text)
        await self._writable.wait()

    def flush(self, kind: StdoutOrStderr) -> None:
        stream = self._streams[kind]
        if stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None
        if stream.length:
            text = "".join(stream.buffered)
            stream.buffered.clear()
            stream.length = 0
            self._enqueue(kind, text)

    def close(self, kind: StdoutOrStderr) -> None:
        """End of a stream: the decoder's rest and everything buffered go out now."""
        stream = self._streams[kind]
        if not stream.closed:
            stream.closed = True
            self.feed_text(kind, stream.decoder.decode(b"", final=True))
            self.flush(kind)

    async def drain(self) -> None:
        """Close both streams and return when the callback has got the last chunk."""
        self.close("stdout")
        self.close("stderr")
        while self._sender is not None:
            await asyncio.shield(self._sender)

    def _cut_full_chunks(self, kind: StdoutOrStderr, stream: _Stream) -> None:
        text = "".join(stream.buffered)
        end = len(text) - len(text) % CHUNK_SIZE
        for i in range(0, end, CHUNK_SIZE):
            self._enqueue(kind, text[i : i + CHUNK_SIZE])
        rest = text[end:]
        stream.buffered = [rest] if rest else []
        stream.length = len(rest)
        if not rest and stream.timer is not None:
            stream.timer.cancel()
            stream.timer = None

    def _keep_last_err_line(self, text: str) -> None:
        # A line split across two writes keeps only its last piece: good enough for a message.
        for line in reversed(text.splitlines()):
            if line.strip():
                self._last_err_line = line.strip()
                return

    def _enqueue(self, kind: StdoutOrStderr, chunk: str) -> None:
        self._queue.append((kind, chunk))
        if len(self._queue) > HIGH_WATER and not self._paused:
            self._paused = True
            self._writable.clear()
            if self._pause is not None:
                self._pause()
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._queue:
                kind, chunk = self._queue.popleft()
                try:
                    await self._on_output(kind, chunk)
                except Exception:  # the consumer's bug must not stop the process or lose the rest
                    log.exception("Output callback failed for a %s chunk", kind)
                if self._paused and len(self._queue) <= LOW_WATER:
                    self._paused = False
                    self._writable.set()
                    if self._resume is not None:
                        self._resume()
        finally:
            self._sender = None
