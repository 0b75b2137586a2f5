"""Subscriptions, cancellations and payments through `empire serve`, against the fake Stripe."""

from __future__ import annotations

import uuid

import pytest

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import ask, card_saying, click, invoice_paid, notified
from tests.e2e.harness import ServeProcess, wait_for

pytestmark = pytest.mark.e2e


def approve(bot: ServeProcess, fake_slack: FakeSlack, text: str, user: str = "U0FIN1") -> str:
    """Ask, approve, and wait for the card to say Executed; the card's text."""
    request_id = ask(bot, fake_slack, text)
    click(bot, fake_slack, request_id, "approve", user)
    return card_saying(fake_slack, request_id, "Executed")


def refused(bot: ServeProcess, fake_slack: FakeSlack, text: str, words: str) -> None:
    """The request is checked with Stripe, then refused ephemerally, saying `words`."""
    key = f"refusal-{uuid.uuid4().hex[:8]}"
    answer = bot.command(text, "U0REQ", response_url=fake_slack.response_url(key))
    assert "checking" in answer.lower(), answer

    def said() -> bool:
        return any(words in str(body.get("text", "")) for body in fake_slack.responses(key))

    wait_for(said, what=f"{text!r} refused with {words!r}")


def known_client(bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe) -> StripeObject:
    """acme@example.com, invoiced once and paid, so Stripe and the registry know them."""
    invoice_paid(bot, fake_slack, fake_stripe, amount="$100")
    wait_for(lambda: "`acme`" in bot.command("clients", "U0REQ"), what="acme in the registry")
    return fake_stripe.objects("customer")[0]


def test_a_subscription_is_invoiced_and_shows_its_effect_on_mrr(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    known_client(bot, fake_slack, fake_stripe)
    request_id = ask(bot, fake_slack, "subscribe acme 500/month Retainer")
    card = card_saying(fake_slack, request_id, "MRR")
    assert "+$500.00 a month" in card
    assert "invoiced, due 30 days" in card
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    done = card_saying(fake_slack, request_id, "Executed")

    [subscription] = fake_stripe.objects("subscription")
    assert subscription["id"] in done
    assert subscription["collection_method"] == "send_invoice"
    assert subscription["metadata"]["empire_action_id"].startswith("act_")
    notified(fake_slack, f"Subscription {subscription['id']} started")

    # The same plan at the same price again: product and price are reused.
    second = approve(bot, fake_slack, "subscribe acme@example.com 500/month Retainer")
    assert "Subscription sub_" in second
    assert len(fake_stripe.objects("product")) == 1
    assert len(fake_stripe.objects("price")) == 1
    assert len(fake_stripe.objects("subscription")) == 2
    # MRR before the third one counts the two the ledger now holds.
    third = ask(bot, fake_slack, "subscribe acme 100/week Support")
    assert "(from $1,000.00 to $1,433.33)" in card_saying(fake_slack, third, "MRR")


def test_a_client_with_a_card_on_file_is_charged(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    customer = known_client(bot, fake_slack, fake_stripe)
    fake_stripe.attach_card(customer["id"])
    request_id = ask(bot, fake_slack, "subscribe acme 1200/year Hosting")
    assert "charged to the card on file" in card_saying(fake_slack, request_id, "Billing")
    assert "+$100.00 a month" in card_saying(fake_slack, request_id, "MRR")
    click(bot, fake_slack, request_id, "approve", "U0FIN2")
    card_saying(fake_slack, request_id, "Executed")
    [subscription] = fake_stripe.objects("subscription")
    assert subscription["collection_method"] == "charge_automatically"
    assert subscription["status"] == "active"
    assert fake_stripe.get(subscription["latest_invoice"])["status"] == "paid"


def test_cancel_at_period_end_then_now(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    known_client(bot, fake_slack, fake_stripe)
    approve(bot, fake_slack, "subscribe acme 500/month Retainer")
    sub_id = fake_stripe.objects("subscription")[0]["id"]

    request_id = ask(bot, fake_slack, f"cancel {sub_id}")
    card = card_saying(fake_slack, request_id, "MRR")
    assert "−$500.00 a month" in card
    assert "Retainer" in card
    assert "at the end of the period" in card
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    assert fake_stripe.get(sub_id)["cancel_at_period_end"] is True
    assert fake_stripe.get(sub_id)["status"] == "active"
    notified(fake_slack, "will end at the end of its period")

    refused(bot, fake_slack, f"cancel {sub_id}", "already ends at the end of its period")

    approve(bot, fake_slack, f"cancel {sub_id} now")
    assert fake_stripe.get(sub_id)["status"] == "canceled"
    notified(fake_slack, f"Subscription {sub_id} ended")
    refused(bot, fake_slack, f"cancel {sub_id} now", "is already cancelled")
    refused(bot, fake_slack, "cancel sub_DoesNotExist", "There is no subscription")


def test_pay_by_card_on_file_and_out_of_band(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    first = ask(bot, fake_slack, "invoice acme@example.com 300 Design")
    click(bot, fake_slack, first, "approve", "U0FIN1")
    card_saying(fake_slack, first, "Executed")
    invoice_id = fake_stripe.objects("invoice")[0]["id"]

    refused(bot, fake_slack, f"pay {invoice_id}", "no card on file")
    fake_stripe.attach_card(fake_stripe.objects("customer")[0]["id"])
    request_id = ask(bot, fake_slack, f"pay {invoice_id}")
    card = card_saying(fake_slack, request_id, "card on file")
    assert "$300.00" in card
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    assert "charged to the card on file" in card_saying(fake_slack, request_id, "Executed")
    assert fake_stripe.get(invoice_id)["status"] == "paid"
    notified(fake_slack, f"Invoice {invoice_id}")

    refused(bot, fake_slack, f"pay {invoice_id}", "is already paid")

    second = ask(bot, fake_slack, "invoice acme@example.com 80 Hosting")
    click(bot, fake_slack, second, "approve", "U0FIN1")
    card_saying(fake_slack, second, "Executed")
    other = fake_stripe.objects("invoice")[0]["id"]
    text = approve(bot, fake_slack, f"pay {other} out-of-band Bank transfer ref 42")
    assert "marked paid outside Stripe" in text
    assert fake_stripe.get(other)["status"] == "paid"
    notified(fake_slack, "marked paid outside Stripe")
    status = wait_for(
        lambda: (s := bot.command(f"status {other}", "U0REQ")) and "outside Stripe" in s and s,
        what="the status of the out-of-band payment",
    )
    assert "*Paid (outside Stripe)*" in status


def test_a_void_invoice_cannot_be_paid_and_a_stranger_cannot_be_subscribed(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 300 Design")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    invoice_id = fake_stripe.objects("invoice")[0]["id"]
    fake_stripe.void_invoice(invoice_id)
    refused(bot, fake_slack, f"pay {invoice_id} out-of-band cash", "was voided")
    refused(bot, fake_slack, "pay in_DoesNotExist", "There is no invoice")
    refused(bot, fake_slack, "subscribe stranger@example.com 50/month Basic", "is not a client")
    assert fake_stripe.objects("subscription") == []
    assert fake_stripe.get(invoice_id)["status"] == "void"


def test_a_stripe_outage_while_subscribing_creates_one_subscription(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    known_client(bot, fake_slack, fake_stripe)
    fake_stripe.fail_next("POST", "/v1/subscriptions", 500, after_processing=True, times=3)
    request_id = ask(bot, fake_slack, "subscribe acme 500/month Retainer")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    text = card_saying(fake_slack, request_id, "Executed", timeout=40)
    [subscription] = fake_stripe.objects("subscription")
    assert subscription["id"] in text
