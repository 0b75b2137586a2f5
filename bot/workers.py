"""Background loops of `empire serve`: prepare, execute, expire, and keep Slack current.

Each loop sleeps until its interval passes or someone calls `wake()` (a click that
approved a request wakes the executor at once instead of at the next poll).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Loop:
    def __init__(
        self,
        name: str,
        tick: Callable[[], int],
        interval: float,
        on_work: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._tick = tick
        self._interval = interval
        self._on_work = on_work
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"empire-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self._tick() > 0
            except Exception:
                log.exception("%s loop failed; trying again", self.name)
                busy = False
            if busy and self._on_work is not None:
                self._on_work()
            if not busy:
                self._wake.wait(self._interval)


class Workers:
    """The loops as one unit; `wake()` nudges them all after a change."""

    def __init__(self, loops: list[Loop]) -> None:
        self._loops = loops

    def start(self) -> None:
        for loop in self._loops:
            loop.start()

    def wake(self) -> None:
        for loop in self._loops:
            loop.wake()

    def stop(self) -> None:
        for loop in self._loops:
            loop.stop()
