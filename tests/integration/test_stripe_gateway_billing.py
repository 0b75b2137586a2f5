"""`StripeGateway`'s clients, subscriptions, payments and reads, against the fake over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from governance.money import Money
from governance.ports import (
    CallScope,
    NotFoundError,
    PaymentGateway,
    RejectedError,
    Subscription,
    TransientError,
)
from integrations.errors import (
    InvalidStripeRequest,
    PaymentDeclined,
    RateLimited,
    StripeObjectNotFound,
    StripeUnavailable,
)
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway
from tests.fakes.gateway import MemoryGateway

EMAIL = "ada@example.com"
DAY = 86_400
PLAN = Money(4900, "usd")


def connect(fake: FakeStripe, retries: int = 0) -> StripeGateway:
    return StripeGateway(fake.api_key, fake.url, max_network_retries=retries, timeout=5.0)


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    adapter = connect(fake)
    yield adapter
    adapter.close()


def scope(step: str, action: str = "act_1") -> CallScope:
    return CallScope(action_id=action, idempotency_key=f"{action}:{step}")


def customer_id(gateway: StripeGateway, email: str = EMAIL) -> str:
    found = gateway.find_customer(email)
    return (found or gateway.create_customer(email, scope(f"c-{email}", "setup"))).id


def monthly_price(gateway: StripeGateway, amount: Money = PLAN) -> str:
    product = gateway.find_product("Retainer") or gateway.create_product(
        "Retainer", scope("product", "setup")
    )
    price = gateway.find_price(product, amount, "month") or gateway.create_price(
        product, amount, "month", scope(f"price-{amount.minor}", "setup")
    )
    return price.id


def subscribe(
    gateway: StripeGateway,
    customer: str,
    *,
    charge: bool = True,
    action: str = "act_1",
    due_days: int = 14,
) -> Subscription:
    return gateway.create_subscription(
        customer,
        monthly_price(gateway),
        scope("subscribe", action),
        charge_automatically=charge,
        due_days=due_days,
    )


def carded_customer(fake: FakeStripe, gateway: StripeGateway, *, declining: bool = False) -> str:
    customer = customer_id(gateway)
    if declining:
        fake.attach_declining_card(customer)
    else:
        fake.attach_card(customer)
    return customer


# -- clients ----------------------------------------------------------------------------------


def test_a_customer_is_read_with_their_default_card(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = customer_id(gateway)
    assert gateway.get_customer(customer).default_payment_method is None
    card = fake.attach_card(customer)
    read = gateway.get_customer(customer)
    assert (read.id, read.email, read.default_payment_method) == (customer, EMAIL, card)
    with pytest.raises(StripeObjectNotFound):
        gateway.get_customer("cus_missing")


def test_customers_are_listed_oldest_first_and_only_with_an_email(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    first = customer_id(gateway, "a@example.com")
    second = customer_id(gateway, "b@example.com")
    fake.state.add(fake.state.objects[first] | {"id": "cus_noemail", "email": None})
    assert [c.id for c in gateway.list_customers()] == [first, second]


# -- products and prices --------------------------------------------------------------------


def test_products_and_prices_are_found_again_instead_of_made_twice(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    assert gateway.find_product("Retainer") is None
    product = gateway.create_product("Retainer", scope("product"))
    assert gateway.find_product("Retainer") == product
    assert gateway.find_product("retainer") is None
    assert gateway.find_price(product, PLAN, "month") is None
    price = gateway.create_price(product, PLAN, "month", scope("price"))
    assert (price.product, price.amount, price.interval) == (product, PLAN, "month")
    assert gateway.find_price(product, PLAN, "month") == price
    assert gateway.find_price(product, PLAN, "year") is None
    assert gateway.find_price(product, Money(4900, "eur"), "month") is None
    assert gateway.find_price(product, Money(4901, "usd"), "month") is None
    assert fake.objects("product")[0]["metadata"] == {"empire_action_id": "act_1"}
    assert fake.objects("price")[0]["metadata"] == {"empire_action_id": "act_1"}


def test_an_archived_product_is_not_found(fake: FakeStripe, gateway: StripeGateway) -> None:
    product = gateway.create_product("Retainer", scope("product"))
    fake.state.objects[product]["active"] = False
    assert gateway.find_product("Retainer") is None


def test_many_products_are_paged_through(fake: FakeStripe, gateway: StripeGateway) -> None:
    wanted = gateway.create_product("Wanted", scope("p0"))
    for n in range(105):
        gateway.create_product(f"Other {n}", scope(f"p{n + 1}"))
    assert gateway.find_product("Wanted") == wanted
    assert fake.count("GET", "/v1/products") == 2


# -- subscriptions ---------------------------------------------------------------------------


def test_a_subscription_charged_to_the_default_card_is_active_and_paid(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    subscription = subscribe(gateway, customer)
    assert subscription.status == "active"
    assert (subscription.amount, subscription.interval) == (PLAN, "month")
    assert subscription.collection_method == "charge_automatically"
    assert subscription.metadata == {"empire_action_id": "act_1"}
    assert subscription.cancel_at_period_end is False
    assert subscription.created is not None
    assert subscription.current_period_end is not None
    assert subscription.current_period_end - subscription.created >= timedelta(days=28)
    assert subscription.latest_invoice is not None
    invoice = gateway.get_invoice(subscription.latest_invoice)
    assert (invoice.status, invoice.subscription, invoice.amount_paid) == (
        "paid",
        subscription.id,
        PLAN,
    )
    assert invoice.amount_remaining == Money(0, "usd")
    assert invoice.collection_method == "charge_automatically"
    # Read back, it also names its plan (the product, expanded).
    assert gateway.get_subscription(subscription.id) == replace(subscription, plan="Retainer")
    (call,) = fake.calls("POST", "/v1/subscriptions")
    assert call.params["payment_behavior"] == "error_if_incomplete"
    assert call.idempotency_key == "act_1:subscribe"


def test_a_subscription_sent_as_invoices_is_active_with_an_open_invoice(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    subscription = subscribe(gateway, customer_id(gateway), charge=False, due_days=10)
    assert (subscription.status, subscription.collection_method) == ("active", "send_invoice")
    assert subscription.latest_invoice is not None
    invoice = gateway.get_invoice(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_remaining) == ("open", PLAN)
    assert invoice.created is not None
    assert invoice.due_date is not None
    assert invoice.due_date - invoice.created == timedelta(days=10)
    assert invoice.created.tzinfo is UTC
    assert [e["data"]["object"]["id"] for e in fake.events("invoice.sent")] == [invoice.id]


def test_without_a_default_card_nothing_is_subscribed(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = customer_id(gateway)
    with pytest.raises(InvalidStripeRequest, match="no attached payment source"):
        subscribe(gateway, customer)
    assert fake.objects("subscription") == []
    assert fake.objects("invoice") == []


def test_a_declined_default_card_leaves_nothing_behind(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway, declining=True)
    with pytest.raises(PaymentDeclined, match="declined") as caught:
        subscribe(gateway, customer)
    assert isinstance(caught.value, RejectedError)
    assert fake.objects("subscription") == []
    assert fake.objects("invoice") == []
    assert fake.events("customer.subscription.created") == []


def test_the_same_key_replays_the_subscription(fake: FakeStripe, gateway: StripeGateway) -> None:
    customer = carded_customer(fake, gateway)
    first = subscribe(gateway, customer)
    again = subscribe(gateway, customer)
    assert again.id == first.id
    assert len(fake.objects("subscription")) == 1
    assert len(fake.objects("charge")) == 1
    assert fake.calls("POST", "/v1/subscriptions")[-1].replayed is True


def test_a_lost_answer_is_found_by_its_action_after_the_key_is_forgotten(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    monthly_price(gateway)
    fake.fail_next("POST", "/v1/subscriptions", status=502, after_processing=True)
    with pytest.raises(StripeUnavailable):
        subscribe(gateway, customer)
    fake.forget_idempotency_keys()
    found = gateway.find_subscription_for_action(customer, "act_1")
    assert found is not None
    assert found.id == fake.objects("subscription")[0]["id"]
    assert gateway.find_subscription_for_action(customer, "act_2") is None
    assert len(fake.objects("subscription")) == 1


def test_a_cancelled_subscription_is_still_found_by_its_action(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    made = subscribe(gateway, customer)
    gateway.cancel_subscription(made.id, scope("cancel", "act_2"), at_period_end=False)
    found = gateway.find_subscription_for_action(customer, "act_1")
    assert found is not None
    assert (found.id, found.status) == (made.id, "canceled")


def test_cancel_at_period_end_then_the_period_ends(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    made = subscribe(gateway, carded_customer(fake, gateway))
    marked = gateway.cancel_subscription(made.id, scope("cancel", "act_2"), at_period_end=True)
    assert (marked.status, marked.cancel_at_period_end) == ("active", True)
    assert marked.canceled_at is not None
    assert marked.metadata == {"empire_action_id": "act_1", "empire_cancel_action_id": "act_2"}
    (update,) = fake.calls("POST", "/v1/subscriptions/{id}")
    assert update.idempotency_key == "act_2:cancel"
    assert made.current_period_end is not None
    fake.advance(int((made.current_period_end - datetime.now(UTC)).total_seconds()) + DAY)
    ended = gateway.get_subscription(made.id)
    assert ended.status == "canceled"
    assert len(fake.events("customer.subscription.deleted")) == 1
    assert len(fake.objects("invoice")) == 1  # no renewal


def test_cancel_now_and_its_retry(fake: FakeStripe, gateway: StripeGateway) -> None:
    made = subscribe(gateway, carded_customer(fake, gateway))
    fake.fail_next("DELETE", "/v1/subscriptions/{id}", status=502, after_processing=True)
    with pytest.raises(StripeUnavailable):
        gateway.cancel_subscription(made.id, scope("cancel", "act_2"), at_period_end=False)
    again = gateway.cancel_subscription(made.id, scope("cancel", "act_2"), at_period_end=False)
    assert again.status == "canceled"
    assert again.canceled_at is not None
    assert len(fake.events("customer.subscription.deleted")) == 1
    with pytest.raises(RejectedError, match="already canceled"):
        gateway.cancel_subscription(made.id, scope("cancel", "act_3"), at_period_end=False)
    with pytest.raises(InvalidStripeRequest, match="canceled subscription"):
        gateway.cancel_subscription(made.id, scope("cancel", "act_4"), at_period_end=True)


def test_renewals_charge_the_card_and_list_as_new_invoices(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=5)
    made = subscribe(gateway, carded_customer(fake, gateway))
    fake.advance(32 * DAY)
    renewed = gateway.get_subscription(made.id)
    assert renewed.status == "active"
    assert renewed.latest_invoice != made.latest_invoice
    assert renewed.current_period_end is not None
    assert made.current_period_end is not None
    assert renewed.current_period_end > made.current_period_end
    invoices = gateway.invoices_created_since(start)
    assert [i.id for i in invoices] == [made.latest_invoice, renewed.latest_invoice]
    assert all(i.status == "paid" and i.subscription == made.id for i in invoices)
    later = gateway.invoices_created_since(datetime.now(UTC) + timedelta(days=31))
    assert [i.id for i in later] == [renewed.latest_invoice]


def test_a_declined_renewal_makes_the_subscription_past_due(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    made = subscribe(gateway, customer)
    fake.attach_declining_card(customer)
    fake.advance(32 * DAY)
    late = gateway.get_subscription(made.id)
    assert late.status == "past_due"
    assert late.latest_invoice is not None
    assert gateway.get_invoice(late.latest_invoice).status == "open"
    with pytest.raises(PaymentDeclined):
        gateway.pay_invoice(late.latest_invoice, scope("pay", "act_2"), out_of_band=False)
    fake.attach_card(customer)
    paid = gateway.pay_invoice(late.latest_invoice, scope("pay", "act_3"), out_of_band=False)
    assert paid.status == "paid"
    assert gateway.get_subscription(made.id).status == "active"


def test_an_unpaid_sent_invoice_becomes_overdue(fake: FakeStripe, gateway: StripeGateway) -> None:
    made = subscribe(gateway, customer_id(gateway), charge=False, due_days=7)
    fake.advance(8 * DAY)
    (overdue,) = fake.events("invoice.overdue")
    assert overdue["data"]["object"]["id"] == made.latest_invoice
    fake.advance(DAY)
    assert len(fake.events("invoice.overdue")) == 1


def test_subscriptions_are_listed_with_cancelled_ones(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    first = subscribe(gateway, customer, action="act_1")
    second = subscribe(gateway, customer, action="act_2", charge=False)
    gateway.cancel_subscription(first.id, scope("cancel", "act_3"), at_period_end=False)
    listed = gateway.list_subscriptions()
    assert [(s.id, s.status) for s in listed] == [(first.id, "canceled"), (second.id, "active")]


# -- paying invoices ----------------------------------------------------------------------


def test_an_invoice_is_charged_to_the_default_card(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway)
    made = subscribe(gateway, customer, charge=False)
    assert made.latest_invoice is not None
    paid = gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == (
        "paid",
        PLAN,
        Money(0, "usd"),
    )
    (call,) = fake.calls("POST", "/v1/invoices/{id}/pay")
    assert (call.params, call.idempotency_key) == ({}, "act_1:pay")
    (charge,) = fake.objects("charge")
    assert charge["payment_method"] == gateway.get_customer(customer).default_payment_method
    again = gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)
    assert again == paid
    with pytest.raises(InvalidStripeRequest, match="already paid"):
        gateway.pay_invoice(made.latest_invoice, scope("pay", "act_2"), out_of_band=False)


def test_paying_without_a_card_is_refused(fake: FakeStripe, gateway: StripeGateway) -> None:
    made = subscribe(gateway, customer_id(gateway), charge=False)
    assert made.latest_invoice is not None
    with pytest.raises(InvalidStripeRequest, match="no attached payment source"):
        gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)


def test_a_declined_payment_is_reported_and_leaves_the_invoice_open(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    customer = carded_customer(fake, gateway, declining=True)
    made = subscribe(gateway, customer, charge=False)
    assert made.latest_invoice is not None
    with pytest.raises(PaymentDeclined, match="Your card was declined"):
        gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)
    assert gateway.get_invoice(made.latest_invoice).status == "open"
    assert len(fake.events("invoice.payment_failed")) == 1
    assert len(fake.events("payment_intent.payment_failed")) == 1


def test_an_invoice_paid_outside_stripe(fake: FakeStripe, gateway: StripeGateway) -> None:
    made = subscribe(gateway, customer_id(gateway), charge=False)
    assert made.latest_invoice is not None
    paid = gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=True)
    assert paid.status == "paid"
    assert fake.objects("charge") == []
    (call,) = fake.calls("POST", "/v1/invoices/{id}/pay")
    assert call.params == {"paid_out_of_band": "true"}


# -- reading what moved ----------------------------------------------------------------------


def test_the_invoice_of_a_payment_intent(fake: FakeStripe, gateway: StripeGateway) -> None:
    made = subscribe(gateway, carded_customer(fake, gateway))
    (intent,) = fake.objects("payment_intent")
    assert gateway.invoice_of_payment_intent(intent["id"]) == made.latest_invoice
    assert gateway.invoice_of_payment_intent("pi_unknown") is None
    call = fake.calls("GET", "/v1/invoice_payments")[0]
    assert call.params == {"payment": {"type": "payment_intent", "payment_intent": intent["id"]}}


@pytest.mark.parametrize(
    "kind", ["invoice", "subscription", "charge", "refund", "dispute", "payment_intent", "customer"]
)
def test_objects_are_read_raw(fake: FakeStripe, gateway: StripeGateway, kind: str) -> None:
    made = subscribe(gateway, carded_customer(fake, gateway))
    (charge,) = fake.objects("charge")
    fake.dispute(charge["id"])
    intent = charge["payment_intent"]
    gateway.create_refund(intent, Money(100, "usd"), "x", scope("refund"))
    object_id = fake.objects(kind)[0]["id"]
    raw = gateway.retrieve_raw(kind, object_id)
    assert (raw["object"], raw["id"]) == (kind, object_id)
    assert raw == fake.get(object_id)
    if kind == "subscription":
        assert raw["items"]["data"][0]["price"]["unit_amount"] == PLAN.minor
        assert raw["id"] == made.id


def test_an_unknown_kind_is_a_value_error(gateway: StripeGateway) -> None:
    with pytest.raises(ValueError, match="plan"):
        gateway.retrieve_raw("plan", "plan_1")
    with pytest.raises(NotFoundError):
        gateway.retrieve_raw("dispute", "du_missing")


def test_refunds_created_since(fake: FakeStripe, gateway: StripeGateway) -> None:
    subscribe(gateway, carded_customer(fake, gateway))
    intent = fake.objects("payment_intent")[0]["id"]
    early = gateway.create_refund(intent, Money(100, "usd"), "x", scope("r1"))
    fake.advance(2 * DAY)
    late = gateway.create_refund(intent, Money(200, "usd"), "y", scope("r2"))
    assert [r.id for r in gateway.refunds_created_since(datetime.now(UTC) - timedelta(1))] == [
        early.id,
        late.id,
    ]
    since = gateway.refunds_created_since(datetime.now(UTC) + timedelta(days=1))
    assert [(r.id, r.charge) for r in since] == [(late.id, fake.objects("charge")[0]["id"])]
    assert since[0].created is not None
    with pytest.raises(ValueError, match="time zone"):
        gateway.refunds_created_since(datetime.now())


# -- errors on the new calls ---------------------------------------------------------------


def test_a_429_on_subscribing_is_transient_and_the_retry_subscribes_once(
    fake: FakeStripe,
) -> None:
    gateway = connect(fake)
    customer = carded_customer(fake, gateway)
    monthly_price(gateway)
    fake.fail_next("POST", "/v1/subscriptions", status=429)
    with pytest.raises(RateLimited) as caught:
        subscribe(gateway, customer)
    assert isinstance(caught.value, TransientError)
    made = subscribe(gateway, customer)
    assert [s["id"] for s in fake.objects("subscription")] == [made.id]


def test_the_sdk_retries_a_500_on_reads(fake: FakeStripe) -> None:
    gateway = connect(fake, retries=1)
    fake.fail_next("GET", "/v1/subscriptions", status=500)
    assert gateway.list_subscriptions() == []
    fake.fail_next("GET", "/v1/invoices", status=500, times=2)
    with pytest.raises(StripeUnavailable, match="HTTP 500"):
        gateway.invoices_created_since(datetime.now(UTC))


def test_a_lost_payment_answer_is_replayed_not_charged_twice(fake: FakeStripe) -> None:
    gateway = connect(fake, retries=1)
    made = subscribe(gateway, carded_customer(fake, gateway), charge=False)
    assert made.latest_invoice is not None
    fake.fail_next("POST", "/v1/invoices/{id}/pay", status=500, after_processing=True)
    paid = gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)
    assert paid.status == "paid"
    assert len(fake.objects("charge")) == 1
    assert [c.replayed for c in fake.calls("POST", "/v1/invoices/{id}/pay")] == [False, True]


# -- the in-memory gateway keeps the same promises ---------------------------------------------


class World:
    """A gateway and what a customer does outside it, for the adapter or `MemoryGateway`."""

    def __init__(self, gateway: PaymentGateway, give_card: Callable[[str, bool], None]) -> None:
        self.gateway = gateway
        self.give_card = give_card

    def customer(self, *, card: bool | None = None) -> str:
        made = self.gateway.create_customer(EMAIL, scope("customer", "setup"))
        if card is not None:
            self.give_card(made.id, not card)
        return made.id

    def price(self) -> str:
        product = self.gateway.create_product("Retainer", scope("product", "setup"))
        return self.gateway.create_price(product, PLAN, "month", scope("price", "setup")).id


@pytest.fixture(params=["stripe", "memory"])
def world(request: pytest.FixtureRequest, fake: FakeStripe) -> Iterator[World]:
    if request.param == "memory":
        memory = MemoryGateway()
        yield World(
            memory, lambda c, declines: memory.set_default_payment_method(c, declines=declines)
        )
        return
    adapter = connect(fake)

    def give_card(customer: str, declines: bool) -> None:
        if declines:
            fake.attach_declining_card(customer)
        else:
            fake.attach_card(customer)

    yield World(adapter, give_card)
    adapter.close()


def test_both_gateways_subscribe_once_and_find_it_again(world: World) -> None:
    gateway = world.gateway
    customer, price = world.customer(card=True), world.price()
    made = gateway.create_subscription(
        customer, price, scope("sub"), charge_automatically=True, due_days=0
    )
    assert (made.status, made.price, made.amount, made.interval) == ("active", price, PLAN, "month")
    again = gateway.create_subscription(
        customer, price, scope("sub"), charge_automatically=True, due_days=0
    )
    assert again.id == made.id
    assert [s.id for s in gateway.list_subscriptions()] == [made.id]
    assert made.latest_invoice is not None
    invoice = gateway.get_invoice(made.latest_invoice)
    assert (invoice.status, invoice.subscription) == ("paid", made.id)
    found = gateway.find_subscription_for_action(customer, "act_1")
    assert found is not None
    assert found.id == made.id
    assert gateway.get_customer(customer).default_payment_method is not None
    assert [c.id for c in gateway.list_customers()] == [customer]


@pytest.mark.parametrize("card", [None, False])
def test_both_gateways_refuse_a_subscription_that_cannot_be_paid(
    world: World, card: bool | None
) -> None:
    customer, price = world.customer(card=card), world.price()
    with pytest.raises(RejectedError):
        world.gateway.create_subscription(
            customer, price, scope("sub"), charge_automatically=True, due_days=0
        )
    assert world.gateway.list_subscriptions() == []


def test_both_gateways_cancel_and_recognise_their_own_cancel(world: World) -> None:
    gateway = world.gateway
    made = gateway.create_subscription(
        world.customer(), world.price(), scope("sub"), charge_automatically=False, due_days=14
    )
    later = gateway.cancel_subscription(made.id, scope("end", "act_2"), at_period_end=True)
    assert (later.cancel_at_period_end, later.metadata["empire_cancel_action_id"]) == (
        True,
        "act_2",
    )
    now = gateway.cancel_subscription(made.id, scope("now", "act_3"), at_period_end=False)
    assert now.status == "canceled"
    assert gateway.cancel_subscription(made.id, scope("now2", "act_3"), at_period_end=False) == now
    with pytest.raises(RejectedError):
        gateway.cancel_subscription(made.id, scope("now", "act_4"), at_period_end=False)


def test_both_gateways_pay_an_open_invoice_once(world: World) -> None:
    gateway = world.gateway
    customer = world.customer(card=True)
    made = gateway.create_subscription(
        customer, world.price(), scope("sub"), charge_automatically=False, due_days=14
    )
    assert made.latest_invoice is not None
    opened = gateway.get_invoice(made.latest_invoice)
    assert (opened.status, opened.collection_method) == ("open", "send_invoice")
    assert opened.due_date is not None
    paid = gateway.pay_invoice(made.latest_invoice, scope("pay"), out_of_band=False)
    assert (paid.status, paid.amount_remaining) == ("paid", Money(0, "usd"))
    with pytest.raises(RejectedError, match="already paid"):
        gateway.pay_invoice(made.latest_invoice, scope("pay", "act_2"), out_of_band=True)
    intent = gateway.invoice_payment(made.latest_invoice).payment_intent
    assert gateway.invoice_of_payment_intent(intent) == made.latest_invoice
    since = gateway.invoices_created_since(datetime.now(UTC) - timedelta(minutes=5))
    assert [i.id for i in since] == [made.latest_invoice]
    assert gateway.retrieve_raw("invoice", made.latest_invoice)["id"] == made.latest_invoice
    with pytest.raises(ValueError, match="plan"):
        gateway.retrieve_raw("plan", "x")


def test_the_memory_gateway_fails_as_told() -> None:
    memory = MemoryGateway()
    memory.fail("create_subscription", TransientError("Stripe is unavailable (503)"))
    customer = memory.add_customer(EMAIL, default_payment_method="pm_card_visa")
    price = memory.add_price(PLAN)
    with pytest.raises(TransientError):
        memory.create_subscription(
            customer.id, price.id, scope("sub"), charge_automatically=True, due_days=0
        )
    made = memory.create_subscription(
        customer.id, price.id, scope("sub"), charge_automatically=True, due_days=0
    )
    assert memory.calls == ["create_subscription", "create_subscription"]
    assert memory.get_subscription(made.id) == replace(made, plan="Plan")
