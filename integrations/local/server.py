"""Run an ASGI app on 127.0.0.1 in a background thread (local platforms, tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn

T = TypeVar("T")


class BackgroundServer:
    """Serves `app` from a thread. The socket is bound here, before uvicorn starts, so a
    port chosen by the system (`port=0`) can never be taken by someone else meanwhile."""

    def __init__(self, app: Any, port: int = 0, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("local server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextmanager
def serving(app: Any) -> Iterator[BackgroundServer]:
    server = BackgroundServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll until `predicate()` is truthy and return its value (for effects that come
    later, like a card updated by a background worker); TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
