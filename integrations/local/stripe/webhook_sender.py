"""Signed webhook deliveries, posted from a background thread as Stripe posts them.

The `Stripe-Signature` header is `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
keyed with the endpoint's `whsec_…` secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
from dataclasses import dataclass, field

import httpx

from integrations.local.stripe.objects import StripeObject


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    secret: str
    events: tuple[str, ...] = ("*",)

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


@dataclass
class Delivery:
    event_id: str
    event_type: str
    url: str
    payload: str
    signature: str
    status: int | None = None  # None: no answer (connection refused, timeout)
    error: str | None = None
    response_body: str = ""
    variant: str = "normal"  # normal | duplicate | bad_signature | old_timestamp


@dataclass
class _Job:
    event: StripeObject
    endpoint: WebhookEndpoint
    variant: str = "normal"
    age: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    delivery: Delivery | None = None


class WebhookSender:
    def __init__(self, timeout: float = 10.0) -> None:
        self.endpoints: list[WebhookEndpoint] = []
        self.deliveries: list[Delivery] = []
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._client = httpx.Client(timeout=timeout)
        self._thread = threading.Thread(target=self._work, daemon=True, name="fake-stripe-webhooks")
        self._thread.start()

    def subscribers(self, event_type: str) -> int:
        return sum(endpoint.wants(event_type) for endpoint in self.endpoints)

    def publish(self, event: StripeObject) -> None:
        """Queue the event for every endpoint that wants it; never waits for delivery."""
        for endpoint in self.endpoints:
            if endpoint.wants(event["type"]):
                self._queue(_Job(event, endpoint))

    def send_now(self, event: StripeObject, variant: str, age: int = 0) -> list[Delivery]:
        """Deliver `event` again to every endpoint, in a chosen variant, and wait for it."""
        jobs = [_Job(event, endpoint, variant, age) for endpoint in self.endpoints]
        for job in jobs:
            self._queue(job)
        for job in jobs:
            job.done.wait(timeout=30)
        return [job.delivery for job in jobs if job.delivery is not None]

    def wait(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)
        self._client.close()

    def _queue(self, job: _Job) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job.delivery = self._deliver(job)
                self.deliveries.append(job.delivery)
            finally:
                job.done.set()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, job: _Job) -> Delivery:
        payload = json.dumps(job.event, indent=2)
        timestamp = int(time.time()) - job.age
        secret = job.endpoint.secret
        if job.variant == "bad_signature":
            secret = "whsec_not_the_endpoint_secret"
        signature = signature_header(payload, secret, timestamp)
        delivery = Delivery(
            job.event["id"],
            job.event["type"],
            job.endpoint.url,
            payload,
            signature,
            variant=job.variant,
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            response = self._client.post(job.endpoint.url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
        else:
            delivery.status = response.status_code
            delivery.response_body = response.text[:2000]
        return delivery
