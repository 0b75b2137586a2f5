"""`StripeGateway` against the fake Stripe server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from governance.money import Money
from governance.ports import (
    CallScope,
    NotFoundError,
    PaymentGateway,
    RejectedError,
    TransientError,
)
from integrations.errors import (
    InvalidStripeRequest,
    PaymentDeclined,
    RateLimited,
    StripeAccessDenied,
    StripeObjectNotFound,
    StripeUnavailable,
)
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway

EMAIL = "ada@example.com"


def connect(
    fake: FakeStripe, retries: int = 0, timeout: float = 5.0, key: str = ""
) -> StripeGateway:
    return StripeGateway(
        key or fake.api_key, fake.url, max_network_retries=retries, timeout=timeout
    )


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    adapter = connect(fake)
    yield adapter
    adapter.close()


def scope(step: str, action: str = "act_1") -> CallScope:
    return CallScope(action_id=action, idempotency_key=f"{action}:{step}")


def sent_invoice(gateway: StripeGateway, amount: int = 150000, action: str = "act_1") -> str:
    customer = gateway.find_customer(EMAIL) or gateway.create_customer(EMAIL, scope("c", action))
    invoice = gateway.create_invoice(customer.id, "usd", 14, "Design work", scope("i", action))
    gateway.add_invoice_line(invoice.id, Money(amount, "usd"), "Design work", scope("l", action))
    gateway.finalize_invoice(invoice.id, scope("f", action))
    return gateway.send_invoice(invoice.id, scope("s", action)).id


def paid_invoice(fake: FakeStripe, gateway: StripeGateway) -> str:
    invoice_id = sent_invoice(gateway)
    fake.pay_invoice(invoice_id)
    return invoice_id


def test_the_gateway_is_a_payment_gateway(gateway: StripeGateway) -> None:
    port: PaymentGateway = gateway
    assert port is gateway


# -- the invoice flow -------------------------------------------------------------------


def test_an_invoice_is_created_filled_finalized_and_sent(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    assert gateway.find_customer(EMAIL) is None
    customer = gateway.create_customer(EMAIL, scope("customer"))
    assert gateway.find_customer(EMAIL) == customer
    draft = gateway.create_invoice(customer.id, "usd", 14, "Design work", scope("invoice"))
    assert (draft.status, draft.customer, draft.amount_due) == (
        "draft",
        customer.id,
        Money(0, "usd"),
    )
    assert draft.metadata == {"empire_action_id": "act_1"}
    filled = gateway.add_invoice_line(draft.id, Money(150000, "usd"), "Design", scope("line"))
    assert filled.amount_due == Money(150000, "usd")
    final = gateway.finalize_invoice(draft.id, scope("finalize"))
    assert final.status == "open"
    assert final.number
    assert final.hosted_invoice_url
    assert final.invoice_pdf
    sent = gateway.send_invoice(draft.id, scope("send"))
    assert sent == gateway.get_invoice(draft.id)
    assert len(fake.events("invoice.sent")) == 1
    (stored,) = fake.objects("invoice")
    assert stored["collection_method"] == "send_invoice"
    assert stored["auto_advance"] is False
    assert [item["metadata"] for item in fake.objects("invoiceitem")] == [
        {"empire_action_id": "act_1"}
    ]


def test_every_call_that_changes_something_carries_the_steps_key(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    sent_invoice(gateway)
    posts = fake.calls("POST")
    assert [call.idempotency_key for call in posts] == [
        "act_1:c",
        "act_1:i",
        "act_1:l",
        "act_1:f",
        "act_1:s",
    ]


def test_an_invoice_is_found_again_by_its_action(gateway: StripeGateway) -> None:
    first = sent_invoice(gateway, action="act_1")
    sent_invoice(gateway, action="act_2")
    customer = gateway.find_customer(EMAIL)
    assert customer is not None
    found = gateway.find_invoice_for_action(customer.id, "act_1")
    assert found is not None
    assert found.id == first
    assert gateway.find_invoice_for_action(customer.id, "act_3") is None


def test_the_payment_of_a_paid_invoice_is_read_from_stripe(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    invoice_id = paid_invoice(fake, gateway)
    payment = gateway.invoice_payment(invoice_id)
    (intent,) = fake.objects("payment_intent")
    (charge,) = fake.objects("charge")
    assert (payment.payment_intent, payment.charge) == (intent["id"], charge["id"])
    assert payment.captured == Money(150000, "usd")
    assert payment.refundable == Money(150000, "usd")
    assert [call.params for call in fake.calls("GET", "/v1/invoice_payments")] == [
        {"invoice": invoice_id, "status": "paid"}
    ]


@pytest.mark.parametrize(("out_of_band", "reason"), [(False, "is open"), (True, "outside Stripe")])
def test_an_invoice_without_a_stripe_payment_is_refused(
    fake: FakeStripe, gateway: StripeGateway, out_of_band: bool, reason: str
) -> None:
    invoice_id = sent_invoice(gateway)
    if out_of_band:
        stripe.StripeClient(fake.api_key, base_addresses={"api": fake.url}).v1.invoices.pay(
            invoice_id, params={"paid_out_of_band": True}
        )
    with pytest.raises(RejectedError, match=reason):
        gateway.invoice_payment(invoice_id)


# -- refunds ----------------------------------------------------------------------------


def test_a_partial_refund_then_the_whole_rest(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    part = gateway.create_refund(
        payment.payment_intent, Money(50000, "usd"), "client asked", scope("r", "act_2")
    )
    assert (part.amount, part.status, part.payment_intent) == (
        Money(50000, "usd"),
        "succeeded",
        payment.payment_intent,
    )
    assert part.metadata == {"empire_action_id": "act_2", "empire_reason": "client asked"}
    rest = gateway.invoice_payment(payment.invoice).refundable
    assert rest == Money(100000, "usd")
    gateway.create_refund(payment.payment_intent, rest, "duplicate", scope("r", "act_3"))
    after = gateway.invoice_payment(payment.invoice)
    assert (after.refunded, after.refundable) == (Money(150000, "usd"), Money(0, "usd"))
    assert [r["reason"] for r in fake.objects("refund")] == ["duplicate", "requested_by_customer"]


def test_a_refund_is_refused_when_nothing_is_left(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    gateway.create_refund(payment.payment_intent, payment.refundable, "all", scope("r", "a2"))
    with pytest.raises(InvalidStripeRequest, match="already been refunded") as caught:
        gateway.create_refund(payment.payment_intent, Money(1, "usd"), "more", scope("r", "a3"))
    assert isinstance(caught.value, RejectedError)
    assert len(fake.objects("refund")) == 1


def test_a_refund_over_the_rest_is_refused(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    with pytest.raises(InvalidStripeRequest, match="greater than unrefunded amount"):
        gateway.create_refund(payment.payment_intent, Money(150001, "usd"), "x", scope("r"))


def test_a_refund_is_found_again_by_its_action(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    made = gateway.create_refund(payment.payment_intent, Money(100, "usd"), "x", scope("r", "a2"))
    gateway.create_refund(payment.payment_intent, Money(200, "usd"), "y", scope("r", "a3"))
    assert gateway.find_refund_for_action(payment.payment_intent, "a2") == made
    assert gateway.find_refund_for_action(payment.payment_intent, "a4") is None


def test_a_long_reason_is_kept_within_stripes_metadata_limit(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    refund = gateway.create_refund(payment.payment_intent, Money(100, "usd"), "x" * 900, scope("r"))
    assert refund.metadata["empire_reason"] == "x" * 500


# -- errors -----------------------------------------------------------------------------


def test_a_429_is_retried_by_the_sdk_then_reported_as_transient(fake: FakeStripe) -> None:
    gateway = connect(fake, retries=1)
    fake.fail_next("GET", "/v1/customers", status=429)
    assert gateway.find_customer(EMAIL) is None
    fake.fail_next("GET", "/v1/customers", status=429, times=2)
    with pytest.raises(RateLimited) as caught:
        gateway.find_customer(EMAIL)
    assert isinstance(caught.value, TransientError)
    assert [call.status for call in fake.calls("GET", "/v1/customers")] == [429, 200, 429, 429]


def test_a_500_is_transient(fake: FakeStripe, gateway: StripeGateway) -> None:
    fake.fail_next("POST", "/v1/customers", status=500)
    with pytest.raises(StripeUnavailable, match="HTTP 500") as caught:
        gateway.create_customer(EMAIL, scope("c"))
    assert isinstance(caught.value, TransientError)
    assert gateway.create_customer(EMAIL, scope("c")).email == EMAIL


def test_a_402_is_a_declined_payment(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    fake.fail_next("POST", "/v1/refunds", status=402)
    with pytest.raises(PaymentDeclined, match="Your card was declined") as caught:
        gateway.create_refund(payment.payment_intent, Money(100, "usd"), "x", scope("r"))
    assert isinstance(caught.value, RejectedError)


def test_a_missing_object_is_not_found(gateway: StripeGateway) -> None:
    with pytest.raises(StripeObjectNotFound, match="No such invoice: 'in_missing'") as caught:
        gateway.get_invoice("in_missing")
    assert isinstance(caught.value, NotFoundError)


def test_an_invalid_step_is_rejected(gateway: StripeGateway) -> None:
    invoice_id = sent_invoice(gateway)
    with pytest.raises(InvalidStripeRequest, match="draft invoices"):
        gateway.add_invoice_line(invoice_id, Money(100, "usd"), "late", scope("late"))


def test_reusing_a_key_for_other_details_is_rejected(gateway: StripeGateway) -> None:
    gateway.create_customer(EMAIL, scope("c"))
    with pytest.raises(InvalidStripeRequest, match="different details"):
        gateway.create_customer("other@example.com", scope("c"))


def test_a_wrong_api_key_is_never_shown(fake: FakeStripe) -> None:
    key = "sk_test_51WrongKeyThatMustNotLeak9876"
    with pytest.raises(StripeAccessDenied) as caught:
        connect(fake, key=key).find_customer(EMAIL)
    assert "STRIPE_API_KEY" in caught.value.reason
    assert key not in str(caught.value)
    assert key[-4:] not in caught.value.reason


def test_a_timeout_is_transient_and_the_retry_creates_nothing_twice(fake: FakeStripe) -> None:
    gateway = connect(fake, timeout=0.2)
    fake.delay("POST", "/v1/customers", 0.6)
    with pytest.raises(StripeUnavailable, match="network error or timeout"):
        gateway.create_customer(EMAIL, scope("c"))
    fake.wait_until_idle()
    customer = gateway.create_customer(EMAIL, scope("c"))
    assert [c["id"] for c in fake.objects("customer")] == [customer.id]


def test_a_lost_response_then_a_retry_returns_the_same_object(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = gateway.create_customer(EMAIL, scope("c"))
    fake.fail_next("POST", "/v1/invoices", status=502, after_processing=True)
    with pytest.raises(TransientError):
        gateway.create_invoice(customer.id, "usd", 14, "Design", scope("i"))
    (made,) = fake.objects("invoice")
    again = gateway.create_invoice(customer.id, "usd", 14, "Design", scope("i"))
    assert again.id == made["id"]
    assert len(fake.objects("invoice")) == 1
    assert len(fake.events("invoice.created")) == 1


def test_the_sdk_retries_a_lost_refund_response_without_refunding_twice(fake: FakeStripe) -> None:
    gateway = connect(fake, retries=1)
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    fake.fail_next("POST", "/v1/refunds", status=500, after_processing=True)
    refund = gateway.create_refund(payment.payment_intent, Money(700, "usd"), "x", scope("r"))
    assert [r["id"] for r in fake.objects("refund")] == [refund.id]
    assert gateway.invoice_payment(payment.invoice).refunded == Money(700, "usd")
    assert [call.replayed for call in fake.calls("POST", "/v1/refunds")] == [False, True]


def test_after_stripe_forgets_the_key_the_object_is_found_by_its_action(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = gateway.create_customer(EMAIL, scope("c"))
    fake.fail_next("POST", "/v1/invoices", status=502, after_processing=True)
    with pytest.raises(TransientError):
        gateway.create_invoice(customer.id, "usd", 14, "Design", scope("i"))
    fake.forget_idempotency_keys()
    found = gateway.find_invoice_for_action(customer.id, "act_1")
    assert found is not None
    assert found.id == fake.objects("invoice")[0]["id"]


def test_the_rest_of_one_payment_is_read_fresh(fake: FakeStripe, gateway: StripeGateway) -> None:
    payment = gateway.invoice_payment(paid_invoice(fake, gateway))
    before = gateway.refundable_rest(payment.payment_intent)
    assert before == payment.refundable
    gateway.create_refund(payment.payment_intent, Money(100, "usd"), "x", scope("r", "rest"))
    assert gateway.refundable_rest(payment.payment_intent) == Money(
        before.minor - 100, before.currency
    )
