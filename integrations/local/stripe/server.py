"""A stateful local Stripe API, served over HTTP on 127.0.0.1 for the sandbox and the tests.

It speaks Stripe's wire format (form-encoded requests, JSON answers, Stripe's error
shapes and headers) so the real `stripe` SDK can drive it, and gives tests plain
Python controls: a request log, injected faults and delays, simulated customer
payments, and signed webhook deliveries.

    with run_fake_stripe() as fake:
        client = stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url}, ...)
        fake.fail_next("POST", "/v1/invoices/{id}/finalize", status=500, after_processing=True)
        ...
        assert fake.count("POST", "/v1/invoices/{id}/finalize") == 2
"""

from __future__ import annotations

import asyncio
import base64
import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.local.server import BackgroundServer
from integrations.local.stripe import billing as billing
from integrations.local.stripe import customers as customers
from integrations.local.stripe import disputes as disputes
from integrations.local.stripe import failures as fail
from integrations.local.stripe import payments as payments
from integrations.local.stripe import subscriptions as subscriptions
from integrations.local.stripe.faults import Answer, Delay, Fault, FaultPlan, path_matcher
from integrations.local.stripe.idempotency import IdempotencyKeys
from integrations.local.stripe.objects import StripeObject, new_id
from integrations.local.stripe.params import decode_form
from integrations.local.stripe.routes import handle
from integrations.local.stripe.state import RequestContext, StripeState
from integrations.local.stripe.webhook_sender import Delivery, WebhookEndpoint, WebhookSender

DEFAULT_API_KEY = "sk_test_51FakeEmpireKey000000000000"
API_VERSION = "2026-10-28.endive"


@dataclass
class RecordedRequest:
    method: str
    path: str
    request_id: str
    idempotency_key: str | None
    params: dict[str, Any] = field(default_factory=dict)
    status: int | None = None  # None while the request is still being handled
    replayed: bool = False


class FakeStripe:
    def __init__(self, api_key: str = DEFAULT_API_KEY, *, api_version: str = API_VERSION) -> None:
        self.api_key = api_key
        self.webhooks = WebhookSender()
        self.state = StripeState(api_version, self.webhooks)
        self.requests: list[RecordedRequest] = []
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "DELETE"])]
        )
        self._lock = threading.RLock()  # the state is shared with the test's thread
        self._plan = FaultPlan()
        self._keys = IdempotencyKeys()
        self._server: BackgroundServer | None = None

    # -- running -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Stripe server is not running")
        return self._server.url

    def start(self) -> FakeStripe:
        self._server = BackgroundServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self.webhooks.close()

    # -- what happened -----------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests received so far, oldest first; `path` as for `path_matcher`."""
        matcher = path_matcher(path) if path else None
        with self._lock:
            return [
                call
                for call in self.requests
                if (method is None or call.method == method)
                and (matcher is None or matcher.fullmatch(call.path))
            ]

    def count(self, method: str, path: str, *, status: int | None = None) -> int:
        return sum(status is None or call.status == status for call in self.calls(method, path))

    def objects(self, kind: str) -> list[StripeObject]:
        """Copies of every object of `kind` (`"refund"`, `"invoice"` …), newest first."""
        with self._lock:
            return copy.deepcopy(self.state.newest_first(kind))

    def get(self, object_id: str) -> StripeObject:
        with self._lock:
            return copy.deepcopy(self.state.objects[object_id])

    def events(self, event_type: str | None = None) -> list[StripeObject]:
        """Events in the order they happened."""
        return [e for e in reversed(self.objects("event")) if event_type in (None, e["type"])]

    def wait_until_idle(self, timeout: float = 5.0) -> None:
        """Wait for requests still being handled (e.g. delayed ones a client gave up on)."""
        deadline = time.monotonic() + timeout
        while any(call.status is None for call in self.calls()):
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Stripe server is still handling requests")
            time.sleep(0.01)

    # -- faults ------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path: str,
        status: int = 500,
        *,
        times: int = 1,
        after_processing: bool = False,
        code: str | None = None,
        message: str | None = None,
        should_retry: bool | None = None,
    ) -> None:
        """Answer the next `times` matching requests with Stripe's error for `status`.

        With `after_processing`, the operation is carried out (and its real answer kept
        for its idempotency key) but the client gets the error: a lost response.
        """
        matcher = path_matcher(path)
        self._plan.add(
            Fault(method, matcher, status, times, after_processing, code, message, should_retry)
        )

    def delay(self, method: str, path: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` matching requests for `seconds` before handling them."""
        self._plan.add(Delay(method, path_matcher(path), seconds, times))

    def forget_idempotency_keys(self) -> None:
        """Drop every kept answer, as Stripe does once a key is 24 hours old."""
        self._keys.forget_all()

    # -- what the customer does --------------------------------------------------------

    def pay_invoice(self, invoice_id: str) -> StripeObject:
        """The customer pays an open invoice by card on the hosted invoice page."""
        return self._simulate(
            lambda: billing.pay(
                self.state, invoice_id, out_of_band=False, payment_method=payments.WORKING_CARD
            )
        )

    def fail_invoice_payment(self, invoice_id: str) -> StripeObject:
        """The customer tries to pay an open invoice and the card is declined."""
        return self._simulate(lambda: billing.fail_payment(self.state, invoice_id))

    def void_invoice(self, invoice_id: str) -> StripeObject:
        """Someone voids an open invoice in the Stripe dashboard."""
        return self._simulate(lambda: billing.void(self.state, invoice_id))

    def attach_card(self, customer_id: str) -> str:
        """The customer saves a working card as their default; its `pm_…` id.

        Emits `payment_method.attached` and `customer.updated`."""
        return str(self._simulate(lambda: customers.attach_card(self.state, customer_id))["id"])

    def attach_declining_card(self, customer_id: str) -> str:
        """As `attach_card`, but every charge to the card is declined."""
        card = self._simulate(lambda: customers.attach_card(self.state, customer_id, declines=True))
        return str(card["id"])

    def dispute(
        self, charge_id: str, amount: int | None = None, reason: str = "fraudulent"
    ) -> StripeObject:
        """The cardholder disputes a charge (all of it unless `amount`): the charge is
        `disputed`; emits `charge.dispute.created` and `charge.dispute.funds_withdrawn`."""
        return self._simulate(lambda: disputes.open_dispute(self.state, charge_id, amount, reason))

    def close_dispute(self, dispute_id: str, *, won: bool) -> StripeObject:
        """The bank decides: emits `charge.dispute.closed` (and, if won,
        `charge.dispute.funds_reinstated`)."""
        return self._simulate(lambda: disputes.close_dispute(self.state, dispute_id, won=won))

    # -- time ------------------------------------------------------------------------------

    def advance(self, seconds: int) -> None:
        """Move the fake's clock forward and do what Stripe does meanwhile: renew
        subscriptions whose period ended (charging or sending the renewal invoice), end
        those set to cancel at period end, and flag open invoices past due
        (`invoice.overdue`, once each)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self.state.offset += seconds
            self.state.context = RequestContext()
            subscriptions.run_clock(self.state)
            billing.flag_overdue(self.state)

    def now(self) -> int:
        """The fake's clock, as Unix seconds."""
        with self._lock:
            return self.state.now()

    # -- webhooks ----------------------------------------------------------------------

    def add_webhook_endpoint(
        self, url: str, secret: str, events: tuple[str, ...] = ("*",)
    ) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(url, secret, events)
        with self._lock:
            self.webhooks.endpoints.append(endpoint)
        return endpoint

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.webhooks.deliveries)

    def wait_for_deliveries(self, timeout: float = 5.0) -> list[Delivery]:
        if not self.webhooks.wait(timeout):
            raise TimeoutError("webhook deliveries are still pending")
        return self.deliveries

    def deliver_again(self, event_id: str) -> list[Delivery]:
        """Send an event a second time, correctly signed, as Stripe's retries do."""
        return self.webhooks.send_now(self.get(event_id), "duplicate")

    def deliver_with_bad_signature(self, event_id: str) -> list[Delivery]:
        return self.webhooks.send_now(self.get(event_id), "bad_signature")

    def deliver_with_old_timestamp(self, event_id: str, age: int = 600) -> list[Delivery]:
        """Correctly signed, but `age` seconds ago: a replayed capture."""
        return self.webhooks.send_now(self.get(event_id), "old_timestamp", age)

    # -- handling a request ------------------------------------------------------------

    def _simulate(self, action: Any) -> StripeObject:
        with self._lock:
            self.state.context = RequestContext()
            result: StripeObject = copy.deepcopy(action())
            return result

    async def _endpoint(self, request: Request) -> JSONResponse:
        method, path = request.method, request.url.path
        key = request.headers.get("idempotency-key") if method == "POST" else None
        record = RecordedRequest(method, path, new_id("req"), key)
        with self._lock:
            self.requests.append(record)
        answer = Answer(500, {})
        try:
            answer = await self._answer(request, record)
        finally:
            record.status = answer.status
        headers = {"Request-Id": record.request_id, "Stripe-Version": self.state.api_version}
        if key:
            headers["Idempotency-Key"] = key
        return JSONResponse(answer.body, answer.status, {**headers, **answer.headers})

    async def _answer(self, request: Request, record: RecordedRequest) -> Answer:
        method, path, key = record.method, record.path, record.idempotency_key
        try:
            self._authenticate(request.headers.get("authorization"))
            body = (await request.body()).decode()
            record.params = decode_form(
                [*parse_qsl(request.url.query), *parse_qsl(body, keep_blank_values=True)]
            )
            fault = self._plan.take_fault(method, path, after_processing=False)
            if fault:
                return fault.answer(record.request_id)
            replay = self._keys.claim(key, method, path, record.params) if key else None
            if replay:
                record.replayed = True
                return replay
        except fail.StripeFailure as failure:
            return Answer.failed(failure, record.request_id)
        delay = self._plan.take_delay(method, path)
        if delay:
            await asyncio.sleep(delay.seconds)
        answer, keep = self._execute(record)
        if key:
            self._keys.settle(key, answer, record.request_id, keep=keep)
        lost = self._plan.take_fault(method, path, after_processing=True)
        return lost.answer(record.request_id) if lost else answer

    def _authenticate(self, authorization: str | None) -> None:
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(credential).decode().partition(":")[0]
            except ValueError:
                credential = ""
        elif scheme.lower() != "bearer":
            credential = ""
        if credential != self.api_key:
            raise fail.bad_api_key(credential)

    def _execute(self, record: RecordedRequest) -> tuple[Answer, bool]:
        """The endpoint's answer, and whether Stripe would keep it for the idempotency key."""
        with self._lock:
            self.state.context = RequestContext(record.request_id, record.idempotency_key)
            try:
                result = handle(self.state, record.method, record.path, record.params)
                return Answer(200, result), True
            except fail.StripeFailure as failure:
                return Answer.failed(failure, record.request_id), failure.saved
            finally:
                self.state.context = RequestContext()


@contextmanager
def run_fake_stripe(**kwargs: Any) -> Iterator[FakeStripe]:
    """A started `FakeStripe` (keyword arguments as for `FakeStripe`), stopped afterwards."""
    fake = FakeStripe(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()
