"""Stripe's idempotency keys: the first answer is kept and replayed for the same request.

A key reused with other parameters (or on another endpoint) is an `idempotency_error`;
a key whose first request is still running answers 409. Answers that were never
executed (failed validation, 429) are not kept, so the key can be used again.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from integrations.local.stripe import failures as fail
from integrations.local.stripe.faults import Answer


@dataclass
class _Saved:
    fingerprint: str
    answer: Answer | None = None  # None while the first request is still running
    request_id: str = ""


class IdempotencyKeys:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: dict[str, _Saved] = {}

    def claim(self, key: str, method: str, path: str, params: dict[str, Any]) -> Answer | None:
        """The kept answer to replay, or None when this request is the first to run."""
        fingerprint = json.dumps([method, path, params], sort_keys=True)
        with self._lock:
            saved = self._saved.get(key)
            if saved is None:
                self._saved[key] = _Saved(fingerprint)
                return None
        if saved.fingerprint != fingerprint:
            raise fail.idempotency_mismatch(key)
        if saved.answer is None:
            raise fail.idempotency_in_use(key)
        headers = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return Answer(saved.answer.status, saved.answer.body, headers)

    def settle(self, key: str, answer: Answer, request_id: str, *, keep: bool) -> None:
        with self._lock:
            if keep:
                self._saved[key] = _Saved(self._saved[key].fingerprint, answer, request_id)
            else:
                del self._saved[key]

    def forget_all(self) -> None:
        """What Stripe does to keys after 24 hours."""
        with self._lock:
            self._saved.clear()
