"""Background loops of `empire serve`: prepare, execute, expire, and keep Slack current.

Each loop sleeps until its interval passes or someone calls `wake()` (a click that
approved a request wakes the executor at once instead of at the next poll).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)


class Loop:
    def __init__(
        self,
        name: str,
        tick: Callable[[], int],
        interval: float,
        on_work: Callable[[], None] | None = None,
        give_way: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = name
        self._tick = tick
        self._interval = interval
        self._on_work = on_work
        self._give_way = give_way
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
            self._give_way()
            try:
                busy = self._tick() > 0
            except Exception:
                log.exception("%s loop failed; trying again", self.name)
                busy = False
            if busy and self._on_work is not None:
                self._on_work()
            if not busy:
                self._wake.wait(self._interval)


PREPARE, EXECUTE, EXPIRE, SLACK = "prepare", "execute", "expire", "slack"

# While Slack waits for its answer, wakes are only noted; they happen once it has it.
_deferred: ContextVar[set[str] | None] = ContextVar("deferred_wakes", default=None)


class Workers:
    """The loops as one unit; `wake(name, …)` nudges the loops that have new work."""

    def __init__(self, loops: list[Loop]) -> None:
        self._loops = {loop.name: loop for loop in loops}

    def start(self) -> None:
        for loop in self._loops.values():
            loop.start()

    def wake(self, *names: str) -> None:
        deferred = _deferred.get()
        if deferred is not None:
            deferred.update(names)
            return
        for name in names:
            self._loops[name].wake()

    @contextmanager
    def after_response(self) -> Iterator[Callable[[], None]]:
        """Collect the wakes of one request; the caller runs them once it has answered."""
        noted: set[str] = set()
        token = _deferred.set(noted)
        try:
            yield lambda: self.wake(*noted)
        finally:
            _deferred.reset(token)

    def stop(self) -> None:
        for loop in self._loops.values():
            loop.stop()
