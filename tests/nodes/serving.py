"""A real uvicorn server for one ASGI app on loopback, in a thread: for the tests of the HTTP clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serving(app: Any, **config: Any) -> Iterator[str]:
    """The app's ``http://127.0.0.1:<port>`` while the block runs (`config`: more of uvicorn's settings)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", **config)
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # polled: uvicorn offers no event to wait on
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Counting:
    """An ASGI app's wrapper that counts the POSTs and the WebSocket connections reaching it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.posts = 0
        self.streams = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
        if scope["type"] == "websocket":
            self.streams += 1
        await self.app(scope, receive, send)
