"""A TCP proxy in front of Tansu that lets librdkafka 2.0 (Debian's kcat) talk to it.

Tansu 0.6 answers ApiVersions v3 with the tagged fields SupportedFeatures, FinalizedFeaturesEpoch,
FinalizedFeatures and ZkMigrationReady. They are valid Kafka protocol, but librdkafka 2.0.2 fails to
read them ("Protocol read buffer underflow for ApiVersion v3", then "ApiVersionRequest failed: Local:
Read underflow"), and it ignores ``api.version.request=false``. The proxy removes those tagged fields
(an empty tagged-field section instead) and passes every other byte through unchanged. The broker
behind it must advertise the proxy's address, so that every connection of the client goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading

API_VERSIONS = 18


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _skip_tagged(data: bytes, pos: int) -> int:
    count, pos = _uvarint(data, pos)
    for _ in range(count):
        _, pos = _uvarint(data, pos)
        size, pos = _uvarint(data, pos)
        pos += size
    return pos


def strip_api_versions_tags(body: bytes) -> bytes:
    """An ApiVersions v3+ response body (correlation id first) without its top-level tagged fields."""
    pos = 4
    (error,) = struct.unpack_from(">h", body, pos)
    if error:
        return body
    pos += 2
    entries, pos = _uvarint(body, pos)
    for _ in range(max(0, entries - 1)):
        pos = _skip_tagged(body, pos + 6)
    pos += 4  # throttle_time_ms
    return body[:pos] + b"\x00"


class ApiVersionsProxy:
    def __init__(self, host: str, port: int, upstream_port: int) -> None:
        self.host, self.port, self.upstream_port = host, port, upstream_port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-proxy", daemon=True)

    def start(self) -> ApiVersionsProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Kafka proxy did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            writer.close()
            return
        pending: dict[int, tuple[int, int]] = {}

        async def requests() -> None:
            while True:
                size = await reader.readexactly(4)
                body = await reader.readexactly(struct.unpack(">i", size)[0])
                api_key, version, correlation = struct.unpack_from(">hhi", body)
                pending[correlation] = (api_key, version)
                up_writer.write(size + body)
                await up_writer.drain()

        async def responses() -> None:
            while True:
                size = await up_reader.readexactly(4)
                body = await up_reader.readexactly(struct.unpack(">i", size)[0])
                (correlation,) = struct.unpack_from(">i", body)
                api_key, version = pending.pop(correlation, (-1, -1))
                if api_key == API_VERSIONS and version >= 3:
                    body = strip_api_versions_tags(body)
                writer.write(struct.pack(">i", len(body)) + body)
                await writer.drain()

        tasks = [asyncio.ensure_future(requests()), asyncio.ensure_future(responses())]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            with contextlib.suppress(Exception):
                w.close()
