"""The fake Stripe's recurring billing, driven by the real `stripe` SDK over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
import stripe

from integrations.local.stripe.server import FakeStripe
from integrations.local.stripe.subscriptions import period_end

DAY = 86_400


def sdk(fake: FakeStripe, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        http_client=stripe.HTTPXClient(timeout=5, allow_sync_methods=True),
        max_network_retries=retries,
    )


@pytest.fixture
def client(fake: FakeStripe) -> stripe.StripeClient:
    return sdk(fake)


def a_customer(client: stripe.StripeClient, email: str = "ada@example.com") -> str:
    return client.v1.customers.create(params={"email": email, "name": "Ada"}).id


def a_price(
    client: stripe.StripeClient, amount: int = 2000, interval: str = "month", **extra: Any
) -> stripe.Price:
    product = client.v1.products.create(params={"name": "Retainer"})
    params: Any = {
        "product": product.id,
        "unit_amount": amount,
        "currency": "usd",
        "recurring": {"interval": interval},
        **extra,
    }
    return client.v1.prices.create(params=params)


def subscribe(
    client: stripe.StripeClient, customer: str, price: str, **params: Any
) -> stripe.Subscription:
    body: Any = {"customer": customer, "items": [{"price": price}], **params}
    return client.v1.subscriptions.create(params=body)


def types(fake: FakeStripe) -> list[str]:
    return [event["type"] for event in fake.events()]


def reasons(fake: FakeStripe) -> list[str]:
    return [invoice["billing_reason"] for invoice in reversed(fake.objects("invoice"))]


# -- customers and cards -----------------------------------------------------------------------


def test_a_customer_is_updated_and_the_change_announced(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = client.v1.customers.create(
        params={"email": "ada@example.com", "metadata": {"a": "1", "b": "2"}}
    )
    updated = client.v1.customers.update(
        customer.id,
        params={"name": "Ada Lovelace", "email": "ada@lovelace.org", "metadata": {"a": ""}},
    )
    assert updated.metadata is not None
    assert (updated.name, updated.email, updated.metadata.to_dict()) == (
        "Ada Lovelace",
        "ada@lovelace.org",
        {"b": "2"},
    )
    (event,) = fake.events("customer.updated")
    assert event["data"]["previous_attributes"] == {
        "name": None,
        "email": "ada@example.com",
        "metadata": {"a": "1", "b": "2"},
    }


def test_a_saved_card_becomes_the_default(fake: FakeStripe, client: stripe.StripeClient) -> None:
    customer = a_customer(client)
    card = fake.attach_card(customer)
    assert card.startswith("pm_")
    read = client.v1.customers.retrieve(customer)
    assert read.invoice_settings is not None
    assert read.invoice_settings.default_payment_method == card
    assert types(fake)[-2:] == ["payment_method.attached", "customer.updated"]
    method = client.v1.payment_methods.retrieve(card)
    assert (method.customer, method.type) == (customer, "card")
    assert method.card is not None
    assert method.card.last4 == "4242"
    assert client.v1.payment_methods.retrieve(fake.attach_declining_card(customer)).card


def test_only_an_attached_card_can_be_the_default(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer, other = a_customer(client), a_customer(client, "bo@example.com")
    card = fake.attach_card(other)
    with pytest.raises(stripe.InvalidRequestError, match="must be attached") as caught:
        client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": card}}
        )
    assert caught.value.param == "invoice_settings[default_payment_method]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.update(customer, params={"invoice_settings": {"footer": "x"}})
    assert unknown.value.param == "invoice_settings[footer]"


def test_customers_are_listed_by_creation_time(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    early = a_customer(client)
    fake.advance(10)
    late = a_customer(client, "bo@example.com")
    cut = fake.get(late)["created"]
    after = client.v1.customers.list(params={"created": {"gte": cut}}).data
    before = client.v1.customers.list(params={"created": {"lt": cut}}).data
    exact = client.v1.customers.list(params={"created": cut}).data
    assert ([c.id for c in after], [c.id for c in before], [c.id for c in exact]) == (
        [late],
        [early],
        [late],
    )


# -- products and prices ------------------------------------------------------------------------


def test_products_are_created_updated_and_listed_by_active(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    product = client.v1.products.create(params={"name": "Retainer", "metadata": {"k": "v"}})
    other = client.v1.products.create(params={"name": "Old"})
    archived = client.v1.products.update(other.id, params={"active": False})
    assert archived.active is False
    active = client.v1.products.list(params={"active": True}).data
    assert [p.id for p in active] == [product.id]
    assert client.v1.products.retrieve(product.id).metadata.to_dict() == {"k": "v"}
    assert types(fake) == ["product.created", "product.created", "product.updated"]
    with pytest.raises(stripe.InvalidRequestError) as nameless:
        client.v1.products.create(params=cast(Any, {}))
    assert nameless.value.code == "parameter_missing"


def test_prices_are_created_and_filtered(fake: FakeStripe, client: stripe.StripeClient) -> None:
    monthly = a_price(client, 2000, "month", lookup_key="retainer_monthly")
    yearly = a_price(client, 20000, "year")
    assert monthly.recurring is not None
    assert (monthly.type, monthly.recurring.interval, monthly.recurring.interval_count) == (
        "recurring",
        "month",
        1,
    )
    one_off = client.v1.prices.create(
        params={"product": str(monthly.product), "unit_amount": 500, "currency": "usd"}
    )
    assert (one_off.type, one_off.recurring) == ("one_time", None)

    def listed(**params: Any) -> list[str]:
        return [p.id for p in client.v1.prices.list(params=cast(Any, params)).data]

    assert listed(type="recurring") == [yearly.id, monthly.id]
    assert listed(product=str(monthly.product)) == [one_off.id, monthly.id]
    assert listed(lookup_keys=["retainer_monthly"]) == [monthly.id]
    assert listed(currency="eur") == []
    client.v1.prices.update(yearly.id, params={"active": False})
    assert listed(active=True, type="recurring") == [monthly.id]
    assert [e["type"] for e in fake.events("price.created")] == ["price.created"] * 3


@pytest.mark.parametrize(
    ("recurring", "param"),
    [
        ({"interval": "fortnight"}, "interval"),
        ({"interval": "month", "interval_count": 37}, "recurring[interval_count]"),
        ({"interval": "month", "colour": "red"}, "recurring[colour]"),
    ],
)
def test_a_bad_recurring_price_is_refused(
    client: stripe.StripeClient, recurring: dict[str, Any], param: str
) -> None:
    product = client.v1.products.create(params={"name": "Retainer"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.prices.create(
            params={
                "product": product.id,
                "unit_amount": 100,
                "currency": "usd",
                "recurring": recurring,  # type: ignore[typeddict-item]
            }
        )
    assert caught.value.param == param


def test_a_lookup_key_is_used_once(client: stripe.StripeClient) -> None:
    a_price(client, lookup_key="plan")
    with pytest.raises(stripe.InvalidRequestError, match="already uses that lookup key"):
        a_price(client, lookup_key="plan")


# -- creating subscriptions -------------------------------------------------------------------


def test_a_charged_subscription_bills_its_first_invoice(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    card = fake.attach_card(customer)
    price = a_price(client)
    before = len(fake.events())
    subscription = subscribe(
        client, customer, price.id, metadata={"empire_action_id": "a"}, expand=["latest_invoice"]
    )
    assert subscription.status == "active"
    item = subscription["items"]["data"][0]
    assert item["price"]["id"] == price.id
    assert item["current_period_end"] == period_end(subscription.created, fake.get(price.id), 1)
    invoice = subscription.latest_invoice
    assert isinstance(invoice, stripe.Invoice)
    assert (invoice.status, invoice.billing_reason, invoice.amount_paid) == (
        "paid",
        "subscription_create",
        2000,
    )
    assert invoice.parent is not None
    assert invoice.parent.subscription_details is not None
    assert invoice.parent.subscription_details.subscription == subscription.id
    (line,) = invoice.lines.data
    assert line.parent is not None
    assert line.parent.subscription_item_details is not None
    assert line.parent.subscription_item_details.subscription_item == item["id"]
    assert line.description == "1 × Retainer (at 20.00 USD / month)"
    (charge,) = fake.objects("charge")
    assert charge["payment_method"] == card
    assert types(fake)[before:] == [
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.created",
    ]


def test_a_subscription_sent_as_invoices_sends_its_first_invoice(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    subscription = subscribe(
        client,
        a_customer(client),
        a_price(client).id,
        collection_method="send_invoice",
        days_until_due=30,
    )
    assert (subscription.status, subscription.days_until_due) == ("active", 30)
    invoice = client.v1.invoices.retrieve(str(subscription.latest_invoice))
    assert invoice.status == "open"
    assert invoice.due_date == invoice.created + 30 * DAY
    assert "invoice.sent" in types(fake)
    assert fake.objects("charge") == []


def test_without_a_card_the_subscription_is_incomplete_until_paid(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    subscription = subscribe(client, customer, a_price(client).id)
    assert subscription.status == "incomplete"
    invoice_id = str(subscription.latest_invoice)
    assert client.v1.invoices.retrieve(invoice_id).status == "open"
    assert len(fake.events("invoice.payment_failed")) == 1
    with pytest.raises(stripe.InvalidRequestError, match="no attached payment source"):
        client.v1.invoices.pay(invoice_id)
    fake.attach_card(customer)
    client.v1.invoices.pay(invoice_id)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
    (updated,) = fake.events("customer.subscription.updated")
    assert updated["data"]["previous_attributes"] == {"status": "incomplete"}


def test_a_declined_card_leaves_an_incomplete_subscription(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_declining_card(customer)
    subscription = subscribe(client, customer, a_price(client).id)
    assert subscription.status == "incomplete"
    assert {"charge.failed", "payment_intent.payment_failed", "invoice.payment_failed"} <= set(
        types(fake)
    )


def test_default_incomplete_waits_for_the_payment(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(
        client, customer, a_price(client).id, payment_behavior="default_incomplete"
    )
    assert subscription.status == "incomplete"
    assert fake.objects("charge") == []


def test_error_if_incomplete_creates_nothing_when_the_card_fails(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    price = a_price(client).id
    fake.attach_declining_card(customer)
    with pytest.raises(stripe.CardError) as caught:
        subscribe(client, customer, price, payment_behavior="error_if_incomplete")
    assert caught.value.code == "card_declined"
    assert fake.objects("subscription") == []
    assert fake.objects("invoice") == []


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"collection_method": "send_invoice"}, "days_until_due", "Missing required param"),
        ({"days_until_due": 5}, "days_until_due", "only specify days_until_due"),
        ({"payment_behavior": "pending_if_incomplete"}, "payment_behavior", "when updating"),
        ({"default_payment_method": "pm_nobody"}, "default_payment_method", "No such"),
    ],
)
def test_a_bad_subscription_is_refused(
    client: stripe.StripeClient, params: dict[str, Any], param: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError, match=message) as caught:
        subscribe(client, a_customer(client), a_price(client).id, **params)
    assert caught.value.param == param


def test_a_one_time_or_missing_price_is_refused(client: stripe.StripeClient) -> None:
    customer = a_customer(client)
    recurring = a_price(client)
    one_off = client.v1.prices.create(
        params={"product": str(recurring.product), "unit_amount": 5, "currency": "usd"}
    )
    with pytest.raises(stripe.InvalidRequestError, match="type=recurring"):
        subscribe(client, customer, one_off.id)
    with pytest.raises(stripe.InvalidRequestError, match="No such price") as missing:
        subscribe(client, customer, "price_missing")
    assert missing.value.param == "items[0][price]"


# -- changing and cancelling ----------------------------------------------------------------


def test_cancel_at_period_end_is_announced_and_can_be_undone(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    subscription = subscribe(
        client,
        a_customer(client),
        a_price(client).id,
        collection_method="send_invoice",
        days_until_due=7,
        metadata={"empire_action_id": "a"},
    )
    marked = client.v1.subscriptions.update(
        subscription.id, params={"cancel_at_period_end": True, "metadata": {"why": "asked"}}
    )
    end = subscription["items"]["data"][0]["current_period_end"]
    assert (marked.cancel_at_period_end, marked.cancel_at, marked.status) == (True, end, "active")
    assert marked.metadata.to_dict() == {"empire_action_id": "a", "why": "asked"}
    assert marked.cancellation_details is not None
    assert marked.cancellation_details.reason == "cancellation_requested"
    (event,) = fake.events("customer.subscription.updated")
    previous = event["data"]["previous_attributes"]
    assert (previous["cancel_at_period_end"], previous["cancel_at"]) == (False, None)
    undone = client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": False})
    assert (undone.cancel_at_period_end, undone.canceled_at) == (False, None)


def test_cancelling_now_ends_the_subscription_once(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(client, customer, a_price(client).id)
    cancelled = client.v1.subscriptions.cancel(subscription.id)
    assert cancelled.status == "canceled"
    assert cancelled.canceled_at == cancelled.ended_at
    assert len(fake.events("customer.subscription.deleted")) == 1
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.subscriptions.cancel(subscription.id)
    assert again.value.http_status == 404
    assert f"No such subscription: '{subscription.id}'" in str(again.value.user_message)
    with pytest.raises(stripe.InvalidRequestError, match="can only update its cancellation"):
        client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})
    tagged = client.v1.subscriptions.update(subscription.id, params={"metadata": {"k": "v"}})
    assert tagged.metadata.to_dict() == {"k": "v"}
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"


def test_cancelling_an_incomplete_subscription_voids_its_invoice(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    subscription = subscribe(client, a_customer(client), a_price(client).id)
    client.v1.subscriptions.cancel(subscription.id)
    assert client.v1.invoices.retrieve(str(subscription.latest_invoice)).status == "void"


def test_subscriptions_are_listed_by_status_price_and_customer(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    ada, bo = a_customer(client), a_customer(client, "bo@example.com")
    for customer in (ada, bo):
        fake.attach_card(customer)
    monthly, yearly = a_price(client), a_price(client, 9000, "year")
    first = subscribe(client, ada, monthly.id)
    second = subscribe(client, bo, yearly.id)
    client.v1.subscriptions.cancel(first.id)

    def listed(**params: Any) -> list[str]:
        return [s.id for s in client.v1.subscriptions.list(params=cast(Any, params)).data]

    assert listed() == [second.id]
    assert listed(status="all") == [second.id, first.id]
    assert listed(status="canceled") == listed(status="ended") == [first.id]
    assert listed(status="all", price=monthly.id) == [first.id]
    assert listed(customer=bo) == [second.id]
    assert listed(status="all", created={"gt": second.created}) == []


# -- the clock -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "interval", "periods", "end"),
    [
        (datetime(2025, 1, 31, 12, tzinfo=UTC), "month", 1, datetime(2025, 2, 28, 12, tzinfo=UTC)),
        (datetime(2025, 1, 31, 12, tzinfo=UTC), "month", 2, datetime(2025, 3, 31, 12, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "year", 1, datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2025, 12, 15, tzinfo=UTC), "month", 1, datetime(2026, 1, 15, tzinfo=UTC)),
        (datetime(2025, 3, 1, tzinfo=UTC), "week", 2, datetime(2025, 3, 15, tzinfo=UTC)),
    ],
)
def test_periods_follow_the_calendar_from_the_anchor(
    start: datetime, interval: str, periods: int, end: datetime
) -> None:
    price = {"recurring": {"interval": interval, "interval_count": 1}}
    assert period_end(int(start.timestamp()), price, periods) == int(end.timestamp())


def test_the_clock_renews_a_charged_subscription(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(client, customer, a_price(client, interval="week").id)
    before = fake.now()
    fake.advance(15 * DAY)
    assert fake.now() >= before + 15 * DAY
    renewed = client.v1.subscriptions.retrieve(subscription.id)
    item = renewed["items"]["data"][0]
    assert item["current_period_start"] == subscription.created + 14 * DAY
    assert item["current_period_end"] == subscription.created + 21 * DAY
    assert reasons(fake) == ["subscription_create", "subscription_cycle", "subscription_cycle"]
    assert [i["status"] for i in fake.objects("invoice")] == ["paid"] * 3
    updates = fake.events("customer.subscription.updated")
    assert len(updates) == 2
    assert "latest_invoice" in updates[0]["data"]["previous_attributes"]
    renewals = client.v1.invoices.list(params={"subscription": subscription.id}).data
    assert len(renewals) == 3


def test_a_failed_renewal_makes_the_subscription_past_due(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(client, customer, a_price(client).id)
    fake.attach_declining_card(customer)
    before = len(fake.events())
    fake.advance(32 * DAY)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "past_due"
    happened = types(fake)[before:]
    for expected in (
        "invoice.created",
        "invoice.payment_failed",
        "payment_intent.payment_failed",
        "customer.subscription.updated",
    ):
        assert expected in happened
    (update,) = fake.events("customer.subscription.updated")
    assert update["data"]["previous_attributes"]["status"] == "active"


def test_a_subscription_set_to_cancel_ends_at_its_period_end(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(client, customer, a_price(client).id)
    client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})
    end = subscription["items"]["data"][0]["current_period_end"]
    fake.advance(end - fake.now() - 60)
    assert client.v1.subscriptions.retrieve(subscription.id).status == "active"
    fake.advance(120)
    ended = client.v1.subscriptions.retrieve(subscription.id)
    assert (ended.status, ended.ended_at) == ("canceled", end)
    assert len(fake.events("customer.subscription.deleted")) == 1
    assert reasons(fake) == ["subscription_create"]


def test_renewals_of_sent_invoices_and_overdue_notices(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    subscribe(
        client,
        a_customer(client),
        a_price(client).id,
        collection_method="send_invoice",
        days_until_due=10,
    )
    fake.advance(11 * DAY)
    assert len(fake.events("invoice.overdue")) == 1
    fake.advance(25 * DAY)
    assert reasons(fake) == ["subscription_create", "subscription_cycle"]
    assert len(fake.events("invoice.sent")) == 2
    assert len(fake.events("invoice.overdue")) == 1  # the renewal is not yet due
    with pytest.raises(ValueError, match="forward"):
        fake.advance(-1)


# -- invoices ----------------------------------------------------------------------------------


def test_an_invoice_marked_uncollectible_can_still_be_paid(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    subscription = subscribe(
        client, customer, a_price(client).id, collection_method="send_invoice", days_until_due=3
    )
    invoice_id = str(subscription.latest_invoice)
    marked = client.v1.invoices.mark_uncollectible(invoice_id)
    assert marked.status == "uncollectible"
    assert marked.status_transitions.marked_uncollectible_at is not None
    assert len(fake.events("invoice.marked_uncollectible")) == 1
    with pytest.raises(stripe.InvalidRequestError, match="only mark open invoices"):
        client.v1.invoices.mark_uncollectible(invoice_id)
    paid = client.v1.invoices.pay(invoice_id, params={"paid_out_of_band": True})
    assert paid.status == "paid"
    with pytest.raises(stripe.InvalidRequestError, match="Invoice is already paid"):
        client.v1.invoices.pay(invoice_id)


def test_lists_filter_by_creation_and_payment(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscription = subscribe(client, customer, a_price(client).id)
    intent = fake.objects("payment_intent")[0]["id"]
    client.v1.refunds.create(params={"payment_intent": intent, "amount": 100})
    fake.advance(DAY)
    late = client.v1.refunds.create(params={"payment_intent": intent, "amount": 200})
    recent = client.v1.refunds.list(params={"created": {"gte": late.created}}).data
    assert [r.id for r in recent] == [late.id]
    payments = client.v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": intent}}
    ).data
    assert [p.invoice for p in payments] == [subscription.latest_invoice]
    assert (
        client.v1.invoice_payments.list(
            params={"payment": {"type": "payment_intent", "payment_intent": "pi_other"}}
        ).data
        == []
    )
    with pytest.raises(stripe.InvalidRequestError) as untyped:
        client.v1.invoice_payments.list(params=cast(Any, {"payment": {"payment_intent": intent}}))
    assert untyped.value.code == "parameter_missing"
    invoices = client.v1.invoices.list(params={"created": {"gte": fake.now()}}).data
    assert invoices == []


# -- disputes ------------------------------------------------------------------------------------


def test_a_dispute_is_opened_read_and_closed(fake: FakeStripe, client: stripe.StripeClient) -> None:
    customer = a_customer(client)
    fake.attach_card(customer)
    subscribe(client, customer, a_price(client).id)
    (charge,) = fake.objects("charge")
    opened = fake.dispute(charge["id"], amount=1500, reason="product_not_received")
    assert opened["id"].startswith("du_")
    dispute = client.v1.disputes.retrieve(opened["id"])
    assert (dispute.amount, dispute.charge, dispute.status, dispute.reason) == (
        1500,
        charge["id"],
        "needs_response",
        "product_not_received",
    )
    assert dispute.payment_intent == charge["payment_intent"]
    assert client.v1.charges.retrieve(charge["id"]).disputed is True
    listed = client.v1.disputes.list(params={"charge": charge["id"]}).data
    assert [d.id for d in listed] == [dispute.id]
    assert types(fake)[-2:] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    with pytest.raises(Exception, match="already disputed"):
        fake.dispute(charge["id"])
    closed = fake.close_dispute(dispute.id, won=True)
    assert closed["status"] == "won"
    assert types(fake)[-2:] == ["charge.dispute.closed", "charge.dispute.funds_reinstated"]
    (event,) = fake.events("charge.dispute.closed")
    assert event["data"]["previous_attributes"] == {"status": "needs_response"}
