"""Faults and delays a test arranges for the fake Stripe server, and the answers they give."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from integrations.local.stripe import failures as fail
from integrations.local.stripe.objects import StripeObject


def path_matcher(pattern: str) -> re.Pattern[str]:
    """`/v1/invoices/{id}/pay` or any regex; `{name}` stands for one path segment."""
    return re.compile(re.sub(r"\{[a-z_]+\}", "[^/]+", pattern))


@dataclass
class Answer:
    status: int
    body: StripeObject
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failed(cls, failure: fail.StripeFailure, request_id: str) -> Answer:
        return cls(failure.status, failure.body(request_id))


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    after_processing: bool
    code: str | None = None
    message: str | None = None
    should_retry: bool | None = None

    def answer(self, request_id: str) -> Answer:
        answer = Answer.failed(fail.injected(self.status, self.code, self.message), request_id)
        should_retry = self.should_retry
        if should_retry is None and (self.status == 429 or self.status >= 500):
            # Stripe asks clients to retry what it did not execute (rate or lock limits,
            # outages); the SDK retries a 429 only when told to.
            should_retry = True
        if should_retry is not None:
            answer.headers["Stripe-Should-Retry"] = "true" if should_retry else "false"
        return answer


@dataclass
class Delay:
    method: str
    path: re.Pattern[str]
    seconds: float
    times: int


class FaultPlan:
    """What is still to go wrong; each fault or delay is used up after `times` requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._planned: list[Fault | Delay] = []

    def add(self, planned: Fault | Delay) -> None:
        with self._lock:
            self._planned.append(planned)

    def take_fault(self, method: str, path: str, *, after_processing: bool) -> Fault | None:
        fault = self._take(
            lambda p: isinstance(p, Fault) and p.after_processing == after_processing, method, path
        )
        return fault if isinstance(fault, Fault) else None

    def take_delay(self, method: str, path: str) -> Delay | None:
        delay = self._take(lambda p: isinstance(p, Delay), method, path)
        return delay if isinstance(delay, Delay) else None

    def _take(
        self, wanted: Callable[[Fault | Delay], bool], method: str, path: str
    ) -> Fault | Delay | None:
        with self._lock:
            for planned in self._planned:
                if wanted(planned) and planned.method == method and planned.path.fullmatch(path):
                    planned.times -= 1
                    if planned.times <= 0:
                        self._planned.remove(planned)
                    return planned
        return None
