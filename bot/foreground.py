"""Requests someone in Slack is waiting on; background work gives way to them.

Slack wants its answer within 3 s and a person notices a few hundred milliseconds, while a
card update or a Stripe call can wait a moment. Background threads share the interpreter
with the request threads, so they start a unit of work only once no Slack request has been
in flight for `quiet` seconds — or once they have waited `patience`, so that a steady
stream of requests delays background work but never starves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Foreground:
    def __init__(
        self,
        quiet: float = 0.02,
        patience: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._quiet = quiet
        self._patience = patience
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._in_flight = 0
        self._last_done = clock() - quiet

    @contextmanager
    def serving(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            # Nobody is notified: waking every background thread at the end of every
            # request would itself compete with the next request.
            with self._lock:
                self._in_flight -= 1
                self._last_done = self._clock()

    def give_way(self) -> None:
        """Return when the foreground has been quiet a moment, or patience ran out."""
        deadline = self._clock() + self._patience
        while True:
            now = self._clock()
            with self._lock:
                quiet_since = self._last_done if self._in_flight == 0 else now
            wait = min(quiet_since + self._quiet - now, deadline - now)
            if wait <= 0:
                return
            self._sleep(wait)
