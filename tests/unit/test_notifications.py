"""Notifications of payment events: what each says, what is loud, and that outside text is inert."""

from __future__ import annotations

from typing import Any

import pytest

from bot.notifications import render

ATTACK = "<!channel> <@U0BOSS> <https://evil.example|click>"


def note(event: str, loud: bool = False, **facts: Any) -> str:
    return render({"event": event, "facts": {"currency": "usd", **facts}, "loud": loud})


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ("invoice.payment_failed", "Payment failed"),
        ("invoice.voided", "voided"),
        ("invoice.marked_uncollectible", "uncollectible"),
        ("invoice.overdue", "overdue"),
    ],
)
def test_invoice_events_name_the_invoice_and_amount(event: str, words: str) -> None:
    text = note(event, invoice="in_1", number="A-1", amount_due=12345, customer_email="a@b.com")
    assert words in text
    assert "in_1 (A-1)" in text
    assert "$123.45" in text
    assert "a@b.com" in text


def test_a_payment_outside_stripe_says_so() -> None:
    text = note("invoice.paid", invoice="in_1", amount_paid=500, out_of_band=True)
    assert "outside Stripe" in text
    assert "$5.00" in text


def test_loud_notifications_call_the_channel_and_quiet_ones_do_not() -> None:
    assert note("charge.dispute.created", loud=True, invoice="in_1", amount=100).startswith(
        ":rotating_light: <!here>"
    )
    assert "<!here>" not in note("invoice.paid", invoice="in_1", amount_paid=100)


def test_a_dispute_names_invoice_amount_and_reason() -> None:
    text = note("charge.dispute.created", invoice="in_1", amount=99900, reason="fraudulent")
    assert "Dispute opened" in text
    assert "$999.00" in text
    assert "fraudulent" in text


def test_subscription_notifications_show_plan_and_price() -> None:
    facts = {"subscription": "sub_1", "plan": "Gold", "amount": 50000, "interval": "month"}
    assert "$500.00 a month" in note("customer.subscription.created", **facts)
    assert "will end" in note("customer.subscription.updated", cancel_at_period_end=True, **facts)
    assert "renew again" in note("customer.subscription.updated", status="active", **facts)
    assert "*past_due*" in note("customer.subscription.updated", status="past_due", **facts)
    assert "ended" in note("customer.subscription.deleted", **facts)


def test_an_unapproved_change_is_described() -> None:
    text = note(
        "reconcile.unapproved",
        loud=True,
        kind="refund",
        object_id="re_1",
        amount=2500,
        customer="cus_1",
        at="2026-11-26T10:00:00+00:00",
    )
    assert "Not approved here" in text
    assert "Refund made without an approved request: re_1" in text
    assert "$25.00" in text


@pytest.mark.parametrize(
    "event",
    [
        "invoice.paid",
        "invoice.overdue",
        "charge.dispute.created",
        "customer.subscription.created",
        "payment_intent.payment_failed",
        "reconcile.unapproved",
    ],
)
def test_outside_text_can_never_mention_or_link(event: str) -> None:
    text = note(
        event,
        loud=False,
        invoice=ATTACK,
        number=ATTACK,
        customer_email=ATTACK,
        plan=ATTACK,
        reason=ATTACK,
        note=ATTACK,
        payment_intent=ATTACK,
        object_id=ATTACK,
        kind=ATTACK,
        subscription=ATTACK,
        hosted_invoice_url=ATTACK,
        amount=1,
        amount_paid=1,
        amount_due=1,
    )
    assert "<!channel>" not in text
    assert "<@U0BOSS>" not in text
    assert "<https://evil" not in text
