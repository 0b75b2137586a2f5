"""Stripe events kept in the ledger: once each, in any order, with people told what matters."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import webhooks
from governance.money import Money
from governance.ports import InvoicePaymentInfo, NotFoundError, TransientError
from governance.webhooks import Receipt
from storage.models import (
    Client,
    LedgerDispute,
    LedgerEntry,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
    OutboxMessage,
    WebhookEvent,
)

T0 = 1_790_000_000


class StripeReads:
    """What the ledger may ask Stripe, answered from dicts the test sets."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, InvoicePaymentInfo] = {}
        self.invoice_by_intent: dict[str, str] = {}
        self.reads: list[str] = []
        self.down = False

    def retrieve_raw(self, kind: str, object_id: str) -> dict[str, Any]:
        self.reads.append(object_id)
        if self.down:
            raise TransientError("Stripe is unavailable (503)")
        return copy.deepcopy(self.objects[object_id])

    def invoice_payment(self, invoice_id: str) -> InvoicePaymentInfo:
        if invoice_id not in self.payments:
            raise NotFoundError(f"{invoice_id} has no payment")
        return self.payments[invoice_id]

    def invoice_of_payment_intent(self, payment_intent: str) -> str | None:
        return self.invoice_by_intent.get(payment_intent)


def invoice(status: str = "open", *, paid: int = 0, **extra: Any) -> dict[str, Any]:
    transitions = {"finalized_at": T0, "paid_at": T0 + 60 if status == "paid" else None}
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "customer_email": "ann@example.com",
        "number": "ABC-0001",
        "status": status,
        "currency": "usd",
        "amount_due": 150000,
        "amount_paid": paid,
        "amount_remaining": 150000 - paid,
        "created": T0 - 60,
        "due_date": T0 + 30 * 86400,
        "status_transitions": transitions,
        "hosted_invoice_url": "https://invoice.stripe.com/i/x",
        "invoice_pdf": None,
        "metadata": {"empire_action_id": "act_1"},
        "parent": None,
        **extra,
    }


def event(event_type: str, obj: dict[str, Any], created: int, **data: Any) -> dict[str, Any]:
    return {
        "id": f"evt_{event_type}_{created}_{obj['id']}",
        "object": "event",
        "type": event_type,
        "created": created,
        "data": {"object": obj, **data},
    }


def deliver(
    sessions: sessionmaker[Session], stripe: StripeReads, *events: dict[str, Any]
) -> list[Receipt]:
    return [
        webhooks.receive(sessions, json.dumps(e).encode(), e, stripe)  # type: ignore[arg-type]
        for e in events
    ]


def ledger_invoice(sessions: sessionmaker[Session]) -> LedgerInvoice:
    with sessions.begin() as session:
        row = session.execute(select(LedgerInvoice)).scalar_one()
        session.expunge(row)
        return row


def history(sessions: sessionmaker[Session], object_id: str = "in_1") -> list[str]:
    with sessions.begin() as session:
        return list(
            session.execute(
                select(LedgerEntry.kind)
                .where(LedgerEntry.object_id == object_id)
                .order_by(LedgerEntry.happened_at, LedgerEntry.id)
            ).scalars()
        )


def notices(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions.begin() as session:
        return [
            dict(body)
            for body in session.execute(
                select(OutboxMessage.body).order_by(OutboxMessage.id)
            ).scalars()
        ]


@pytest.fixture
def stripe() -> StripeReads:
    reads = StripeReads()
    reads.payments["in_1"] = InvoicePaymentInfo(
        "in_1", "pi_1", "ch_1", Money(150000, "usd"), Money(0, "usd")
    )
    return reads


def test_an_invoice_followed_through_its_life(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    receipts = deliver(
        sessions,
        stripe,
        event("invoice.created", invoice("draft"), T0 - 60),
        event("invoice.finalized", invoice("open"), T0),
        event("invoice.paid", invoice("paid", paid=150000), T0 + 60),
    )
    assert receipts == [Receipt.PROCESSED] * 3
    row = ledger_invoice(sessions)
    assert (row.status, row.amount_paid, row.amount_remaining) == ("paid", 150000, 0)
    assert (row.payment_intent, row.charge, row.paid_out_of_band) == ("pi_1", "ch_1", False)
    assert row.paid_at is not None
    assert row.paid_at.timestamp() == T0 + 60
    assert row.action_uid == "act_1"
    assert history(sessions) == ["invoice.created", "invoice.finalized", "invoice.paid"]
    told = notices(sessions)
    assert [n["event"] for n in told] == ["invoice.paid"]
    assert told[0]["facts"]["amount"] == 150000
    assert told[0]["loud"] is False


def test_an_older_event_arriving_late_never_overwrites_a_newer_state(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    deliver(
        sessions,
        stripe,
        event("invoice.paid", invoice("paid", paid=150000), T0 + 60),
        event("invoice.finalized", invoice("open"), T0),
        event("invoice.created", invoice("draft"), T0 - 60),
    )
    row = ledger_invoice(sessions)
    assert (row.status, row.amount_paid) == ("paid", 150000)
    # The history is told in Stripe's order whatever the order of delivery.
    assert history(sessions) == ["invoice.created", "invoice.finalized", "invoice.paid"]
    assert stripe.reads == []  # nothing was in doubt


def test_an_event_as_old_as_the_held_state_is_settled_by_reading_stripe(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    stripe.objects["in_1"] = invoice("paid", paid=150000)
    deliver(
        sessions,
        stripe,
        event("invoice.paid", invoice("paid", paid=150000), T0),
        # Same second, delivered after: which came first? Stripe's copy says paid.
        event("invoice.finalized", invoice("open"), T0),
    )
    assert stripe.reads == ["in_1"]
    assert ledger_invoice(sessions).status == "paid"


def test_a_duplicate_delivery_changes_nothing(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    paid = event("invoice.paid", invoice("paid", paid=150000), T0 + 60)
    assert deliver(sessions, stripe, paid, paid) == [Receipt.PROCESSED, Receipt.DUPLICATE]
    assert history(sessions) == ["invoice.paid"]
    assert len(notices(sessions)) == 1
    with sessions.begin() as session:
        assert session.execute(select(WebhookEvent.deliveries)).scalar_one() == 2


def test_a_paid_invoice_without_a_stripe_payment_was_paid_out_of_band(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    stripe.payments.clear()
    deliver(sessions, stripe, event("invoice.paid", invoice("paid", paid=150000), T0 + 60))
    row = ledger_invoice(sessions)
    assert row.paid_out_of_band
    assert row.payment_intent is None
    assert notices(sessions)[0]["facts"]["out_of_band"] is True


def test_refunds_and_disputes_are_tied_to_their_invoice(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 50000,
        "currency": "usd",
        "status": "succeeded",
        "payment_intent": "pi_1",
        "charge": "ch_1",
        "created": T0 + 120,
        "metadata": {"empire_action_id": "act_2"},
    }
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 100000,
        "currency": "usd",
        "status": "needs_response",
        "reason": "fraudulent",
        "charge": "ch_1",
        "payment_intent": "pi_1",
        "created": T0 + 180,
        "metadata": {},
    }
    deliver(
        sessions,
        stripe,
        event("invoice.paid", invoice("paid", paid=150000), T0 + 60),
        event("refund.created", refund, T0 + 120),
        event("charge.dispute.created", dispute, T0 + 180),
    )
    with sessions.begin() as session:
        assert session.execute(select(LedgerRefund.invoice)).scalar_one() == "in_1"
        assert session.execute(select(LedgerDispute.invoice)).scalar_one() == "in_1"
    assert history(sessions) == ["invoice.paid", "refund.created", "charge.dispute.created"]
    loud = [n for n in notices(sessions) if n["loud"]]
    assert [n["event"] for n in loud] == ["charge.dispute.created"]
    assert loud[0]["facts"]["reason"] == "fraudulent"


def test_a_refund_before_its_invoice_is_known_asks_stripe_for_the_invoice(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    stripe.invoice_by_intent["pi_9"] = "in_9"
    refund = {
        "id": "re_9",
        "object": "refund",
        "amount": 100,
        "currency": "usd",
        "status": "succeeded",
        "payment_intent": "pi_9",
        "charge": "ch_9",
        "created": T0,
        "metadata": {},
    }
    deliver(sessions, stripe, event("refund.created", refund, T0))
    with sessions.begin() as session:
        assert session.execute(select(LedgerRefund.invoice)).scalar_one() == "in_9"


def subscription(**extra: Any) -> dict[str, Any]:
    return {
        "id": "sub_1",
        "object": "subscription",
        "customer": "cus_1",
        "status": "active",
        "cancel_at_period_end": False,
        "canceled_at": None,
        "ended_at": None,
        "start_date": T0,
        "created": T0,
        "currency": "usd",
        "metadata": {},
        "items": {
            "data": [
                {
                    "quantity": 1,
                    "current_period_end": T0 + 30 * 86400,
                    "price": {
                        "unit_amount": 50000,
                        "currency": "usd",
                        "product": "prod_1",
                        "nickname": None,
                        "recurring": {"interval": "month", "interval_count": 1},
                    },
                }
            ]
        },
        **extra,
    }


def test_subscription_changes_people_should_know_about_are_told(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    deliver(
        sessions,
        stripe,
        event("customer.subscription.created", subscription(), T0),
        event(
            "customer.subscription.updated",
            subscription(metadata={"note": "x"}),
            T0 + 1,
            previous_attributes={"metadata": {}},
        ),
        event(
            "customer.subscription.updated",
            subscription(cancel_at_period_end=True, canceled_at=T0 + 2),
            T0 + 2,
            previous_attributes={"cancel_at_period_end": False},
        ),
        event(
            "customer.subscription.updated",
            subscription(status="past_due", cancel_at_period_end=True),
            T0 + 3,
            previous_attributes={"status": "active"},
        ),
    )
    told = [(n["event"], n["loud"]) for n in notices(sessions)]
    assert told == [
        ("customer.subscription.created", False),
        ("customer.subscription.updated", False),
        ("customer.subscription.updated", True),
    ]
    with sessions.begin() as session:
        row = session.execute(select(LedgerSubscription)).scalar_one()
        assert (row.status, row.cancel_at_period_end, row.amount, row.interval) == (
            "past_due",
            True,
            50000,
            "month",
        )


def test_a_failed_payment_is_told_once_and_loudly(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    stripe.invoice_by_intent["pi_1"] = "in_1"
    intent = {"id": "pi_1", "object": "payment_intent", "amount": 150000, "currency": "usd"}
    lonely = {"id": "pi_2", "object": "payment_intent", "amount": 900, "currency": "usd"}
    deliver(
        sessions,
        stripe,
        event("payment_intent.payment_failed", intent, T0),
        event("invoice.payment_failed", invoice("open"), T0),
        event("payment_intent.payment_failed", lonely, T0 + 1),
    )
    told = [(n["event"], n["loud"]) for n in notices(sessions)]
    assert told == [("invoice.payment_failed", True), ("payment_intent.payment_failed", True)]
    assert notices(sessions)[1]["facts"]["payment_intent"] == "pi_2"


def test_a_new_customer_becomes_a_client_with_a_handle(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    customer = {"id": "cus_7", "object": "customer", "email": "Bob@Example.com", "name": "Bob & Co"}
    other = {"id": "cus_8", "object": "customer", "email": "bob@other.com", "name": "Bob & Co"}
    deliver(
        sessions,
        stripe,
        event("customer.created", customer, T0),
        event("customer.created", other, T0),
    )
    with sessions.begin() as session:
        found = [
            (c.handle, c.email, c.stripe_customer)
            for c in session.execute(select(Client).order_by(Client.id)).scalars()
        ]
    assert found == [("bob-co", "bob@example.com", "cus_7"), ("bob-co-2", "bob@other.com", "cus_8")]


def test_when_stripe_cannot_be_read_the_event_fails_and_is_processed_on_redelivery(
    sessions: sessionmaker[Session], stripe: StripeReads
) -> None:
    stripe.objects["in_1"] = invoice("paid", paid=150000)
    paid = event("invoice.paid", invoice("paid", paid=150000), T0)
    same_second = event("invoice.finalized", invoice("open"), T0)
    deliver(sessions, stripe, paid)
    stripe.down = True
    assert deliver(sessions, stripe, same_second) == [Receipt.FAILED]
    with sessions.begin() as session:
        error = session.execute(
            select(WebhookEvent.error).where(WebhookEvent.event_id == same_second["id"])
        ).scalar_one()
    assert error is not None
    assert "503" in error
    stripe.down = False
    assert deliver(sessions, stripe, same_second) == [Receipt.PROCESSED]
    assert history(sessions) == ["invoice.paid", "invoice.finalized"]
