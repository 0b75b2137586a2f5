"""An action retried after Stripe forgot its idempotency key (24 h) finds what it made.

The create call succeeds in Stripe but its answer is lost, Stripe then forgets the key, and
an approver presses Retry: the executor must find the object by `empire_action_id` rather
than create a second one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from governance.actions.base import Payload
from governance.actions.invoice import invoice_payload
from governance.actions.pay import pay_payload
from governance.actions.refund import refund_payload
from governance.actions.subscription import subscription_payload
from governance.executor import Executor
from governance.money import Money
from governance.ports import CallScope
from governance.service import Governance
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway
from storage.models import ActionRequest
from tests.policies import standard_policy

EMAIL = "ada@example.com"


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    adapter = StripeGateway(fake.api_key, fake.url, max_network_retries=0, timeout=5.0)
    yield adapter
    adapter.close()


def paid_invoice(gateway: StripeGateway, fake: FakeStripe) -> str:
    setup = CallScope("setup", "setup")
    customer = gateway.create_customer(EMAIL, CallScope("setup", "setup:c"))
    invoice = gateway.create_invoice(customer.id, "usd", 30, "Work", setup)
    gateway.add_invoice_line(invoice.id, Money(50_000, "usd"), "Work", CallScope("s", "s:l"))
    gateway.finalize_invoice(invoice.id, CallScope("s", "s:f"))
    fake.pay_invoice(invoice.id)
    return invoice.id


def open_invoice(gateway: StripeGateway, fake: FakeStripe) -> str:
    customer = gateway.create_customer(EMAIL, CallScope("setup", "setup:c"))
    fake.attach_card(customer.id)
    invoice = gateway.create_invoice(customer.id, "usd", 30, "Work", CallScope("s", "s:i"))
    gateway.add_invoice_line(invoice.id, Money(50_000, "usd"), "Work", CallScope("s", "s:l"))
    gateway.finalize_invoice(invoice.id, CallScope("s", "s:f"))
    return invoice.id


def run_with_a_lost_answer(
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    fake: FakeStripe,
    action: str,
    payload: Payload,
    lost: tuple[str, str],
) -> ActionRequest:
    governance = Governance(sessions, standard_policy)
    request_id = governance.submit(action, payload, "U0REQ", {}).request_id
    governance.prepare(request_id, gateway)
    with sessions() as session:
        request = session.get(ActionRequest, request_id)
        assert request is not None
        assert request.state == "pending", request.failure_reason
        shown = request.payload_hash
    governance.approve(request_id, "U0FIN1", shown)
    executor = Executor(sessions, gateway, retry_delays=(), sleep=lambda _: None)

    fake.fail_next(*lost, status=500, after_processing=True)
    executor.run_ready()
    with sessions() as session:
        request = session.get(ActionRequest, request_id)
        assert request is not None
        assert request.state == "failed"
    fake.forget_idempotency_keys()  # a day later
    governance.retry(request_id, "U0FIN2")
    executor.run_ready()
    with sessions() as session:
        request = session.get(ActionRequest, request_id)
        assert request is not None
        assert request.state == "succeeded", request.failure_reason
        session.expunge(request)
        return request


def test_an_invoice(
    sessions: sessionmaker[Session], gateway: StripeGateway, fake: FakeStripe
) -> None:
    payload = invoice_payload(EMAIL, Money(90_000, "usd"), "Audit", 14)
    request = run_with_a_lost_answer(
        sessions, gateway, fake, "payments.invoice", payload, ("POST", "/v1/invoices")
    )
    [invoice] = fake.objects("invoice")
    assert request.result["object_id"] == invoice["id"]
    assert invoice["amount_due"] == 90_000


def test_a_subscription(
    sessions: sessionmaker[Session], gateway: StripeGateway, fake: FakeStripe
) -> None:
    gateway.create_customer(EMAIL, CallScope("setup", "setup:c"))
    payload = subscription_payload(EMAIL, Money(50_000, "usd"), "month", "Retainer", None)
    request = run_with_a_lost_answer(
        sessions, gateway, fake, "payments.subscription", payload, ("POST", "/v1/subscriptions")
    )
    [subscription] = fake.objects("subscription")
    assert request.result["object_id"] == subscription["id"]
    assert len(fake.objects("product")) == 1
    assert len(fake.objects("price")) == 1


def test_a_refund(
    sessions: sessionmaker[Session], gateway: StripeGateway, fake: FakeStripe
) -> None:
    invoice_id = paid_invoice(gateway, fake)
    payload = refund_payload(invoice_id, Money(20_000, "usd"), "Late")
    request = run_with_a_lost_answer(
        sessions, gateway, fake, "payments.refund", payload, ("POST", "/v1/refunds")
    )
    [refund] = fake.objects("refund")
    assert request.result["object_id"] == refund["id"]
    assert refund["amount"] == 20_000


def test_a_payment(
    sessions: sessionmaker[Session], gateway: StripeGateway, fake: FakeStripe
) -> None:
    invoice_id = open_invoice(gateway, fake)
    request = run_with_a_lost_answer(
        sessions,
        gateway,
        fake,
        "payments.pay",
        pay_payload(invoice_id, None),
        ("POST", "/v1/invoices/{id}/pay"),
    )
    assert request.result["status"] == "paid"
    assert len(fake.objects("charge")) == 1
    assert fake.get(invoice_id)["amount_paid"] == 50_000
