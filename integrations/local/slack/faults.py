"""Scheduled misbehaviour of the fake Web API: errors, rate limits and slow answers."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    error: str
    status: int
    retry_after: int | None

    def headers(self) -> dict[str, str]:
        # Slack sends Retry-After (whole seconds) with every 429; the SDKs' retry handlers read it.
        if self.status == 429 and self.retry_after is not None:
            return {"Retry-After": str(self.retry_after)}
        return {}


class FaultPlan:
    """Per-method queues of faults and delays, each used up by one call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}
        self._delays: dict[str, deque[float]] = {}

    def fail(self, method: str, fault: Fault, times: int) -> None:
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def delay(self, method: str, seconds: float, times: int) -> None:
        with self._lock:
            self._delays.setdefault(method, deque()).extend([seconds] * times)

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    def take_delay(self, method: str) -> float:
        with self._lock:
            queue = self._delays.get(method)
            return queue.popleft() if queue else 0.0

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()
