"""Stripe events arriving at `POST /stripe/webhook`: verified, stored once, told to the team."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.server import FakeStripe
from integrations.local.stripe.webhook_sender import signature_header
from storage.db import make_engine
from storage.models import AuditEntry, OutboxMessage, WebhookEvent
from tests.e2e.flows import ask, card_saying, click
from tests.e2e.harness import NOTIFY_CHANNEL, WEBHOOK_SECRET, ServeProcess, wait_for

pytestmark = pytest.mark.e2e


# -- helpers --------------------------------------------------------------------------


def stored_events(database_url: str) -> list[tuple[str, str, int, bool]]:
    """(event id, type, deliveries, processed) of every stored Stripe event."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    WebhookEvent.event_id,
                    WebhookEvent.type,
                    WebhookEvent.deliveries,
                    WebhookEvent.processed_at,
                ).order_by(WebhookEvent.id)
            ).all()
    finally:
        engine.dispose()
    return [
        (event_id, kind, deliveries, done is not None) for event_id, kind, deliveries, done in rows
    ]


def audited_stripe_events(database_url: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            payloads = connection.execute(
                select(AuditEntry.payload)
                .where(AuditEntry.kind == "stripe.event")
                .order_by(AuditEntry.seq)
            ).scalars()
            return [json.loads(payload) for payload in payloads]
    finally:
        engine.dispose()


def queued_notifications(database_url: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            bodies = connection.execute(
                select(OutboxMessage.body)
                .where(OutboxMessage.kind == "notify")
                .order_by(OutboxMessage.id)
            ).scalars()
            return [dict(body) for body in bodies]
    finally:
        engine.dispose()


def notifications_about(fake_slack: FakeSlack, word: str) -> list[str]:
    return [m["text"] for m in fake_slack.messages(NOTIFY_CHANNEL) if word in m.get("text", "")]


def wait_for_notification(fake_slack: FakeSlack, word: str) -> str:
    found = wait_for(lambda: notifications_about(fake_slack, word), what=f"a notice about {word}")
    return found[0]


def approved_invoice(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> StripeObject:
    """An invoice for $1,500.00 to acme@example.com, requested, approved and sent."""
    request_id = ask(bot, fake_slack, "invoice acme@example.com $1,500 Website")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    invoices = fake_stripe.objects("invoice")
    assert len(invoices) == 1
    return invoices[0]


def settle(fake_stripe: FakeStripe) -> None:
    """Every delivery answered, and time for the bot to post what it queued."""
    fake_stripe.wait_for_deliveries(timeout=10)
    time.sleep(1.0)


# -- events that are told to the team ------------------------------------------------


def test_a_paid_invoice_is_announced_in_the_notify_channel(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.pay_invoice(invoice["id"])
    notice = wait_for_notification(fake_slack, invoice["id"])
    assert "paid" in notice
    assert "$1,500.00" in notice
    assert "acme@example.com" in notice
    settle(fake_stripe)
    paid = fake_stripe.events("invoice.paid")
    assert len(paid) == 1
    assert [d.status for d in fake_stripe.deliveries if d.event_id == paid[0]["id"]] == [200]
    assert [e for e in stored_events(database_url) if e[0] == paid[0]["id"]] == [
        (paid[0]["id"], "invoice.paid", 1, True)
    ]
    assert len(notifications_about(fake_slack, invoice["id"])) == 1


def test_a_failed_payment_is_announced_in_the_notify_channel(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.fail_invoice_payment(invoice["id"])
    notice = wait_for_notification(fake_slack, invoice["id"])
    assert "Payment failed" in notice
    assert "$1,500.00" in notice
    assert "paid:" not in notice


def test_an_executed_refund_is_announced_in_the_notify_channel(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.pay_invoice(invoice["id"])
    wait_for_notification(fake_slack, invoice["id"])

    request_id = ask(bot, fake_slack, f"refund {invoice['id']} 25 Late delivery")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    refunds = fake_stripe.objects("refund")
    assert len(refunds) == 1
    assert refunds[0]["amount"] == 2500
    charge = refunds[0]["charge"]
    notice = wait_for_notification(fake_slack, charge)
    assert "Refunded" in notice
    assert "$25.00" in notice


# -- deliveries that are refused -------------------------------------------------------


def test_deliveries_with_a_bad_signature_or_an_old_timestamp_are_refused_and_not_stored(
    serve_factory: type, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    bot: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.pay_invoice(invoice["id"])
    paid = fake_stripe.events("invoice.paid")[0]
    # Only now does Stripe know where to deliver: nothing above reached the bot.
    fake_stripe.add_webhook_endpoint(f"{bot.url}/stripe/webhook", WEBHOOK_SECRET)

    forged = fake_stripe.deliver_with_bad_signature(paid["id"])
    replayed = fake_stripe.deliver_with_old_timestamp(paid["id"], age=600)
    assert [d.status for d in forged] == [400]
    assert [d.status for d in replayed] == [400]
    time.sleep(1.5)
    assert stored_events(database_url) == []
    assert audited_stripe_events(database_url) == []
    assert queued_notifications(database_url) == []
    assert fake_slack.messages(NOTIFY_CHANNEL) == []


def test_a_signed_body_that_is_not_json_is_refused(bot: ServeProcess, database_url: str) -> None:
    for body in ("this is not json", '{"object": "list", "data": []}'):
        header = signature_header(body, WEBHOOK_SECRET, int(time.time()))
        response = bot.http.post(
            "/stripe/webhook",
            content=body.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        )
        assert response.status_code == 400, (body, response.text)
    assert stored_events(database_url) == []


def test_a_delivery_without_a_signature_header_is_refused(
    bot: ServeProcess, database_url: str
) -> None:
    body = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {}})
    response = bot.http.post(
        "/stripe/webhook", content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert stored_events(database_url) == []


# -- duplicates and quiet events ------------------------------------------------------


def test_an_event_delivered_twice_is_stored_once_and_announced_once(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.pay_invoice(invoice["id"])
    wait_for_notification(fake_slack, invoice["id"])
    fake_stripe.wait_for_deliveries(timeout=10)
    paid = fake_stripe.events("invoice.paid")[0]

    again = fake_stripe.deliver_again(paid["id"])
    assert [d.status for d in again] == [200]
    time.sleep(1.5)
    assert [e for e in stored_events(database_url) if e[0] == paid["id"]] == [
        (paid["id"], "invoice.paid", 2, True)
    ]
    audited = [e for e in audited_stripe_events(database_url) if e["event_id"] == paid["id"]]
    assert len(audited) == 1
    assert [n["event"] for n in queued_notifications(database_url)] == ["invoice.paid"]
    assert len(notifications_about(fake_slack, invoice["id"])) == 1


def test_an_event_we_do_not_announce_is_stored_and_audited_but_posts_nothing(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    settle(fake_stripe)
    finalized = fake_stripe.events("invoice.finalized")
    assert len(finalized) == 1
    event_id = finalized[0]["id"]
    assert [d.status for d in fake_stripe.deliveries if d.event_id == event_id] == [200]
    assert (event_id, "invoice.finalized", 1, True) in stored_events(database_url)
    audited = [e for e in audited_stripe_events(database_url) if e["event_id"] == event_id]
    assert len(audited) == 1
    assert audited[0]["type"] == "invoice.finalized"
    assert audited[0]["object_id"] == invoice["id"]
    # Every event Stripe sent is stored, none of them is one we announce.
    assert {e[0] for e in stored_events(database_url)} == {e["id"] for e in fake_stripe.events()}
    assert queued_notifications(database_url) == []
    assert fake_slack.messages(NOTIFY_CHANNEL) == []


# -- the ledger: any order, any number of deliveries -----------------------------------


def test_events_delivered_backwards_and_twice_leave_the_ledger_right(
    serve_factory: type, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    # No endpoint yet: the activity happens first, its events are delivered afterwards.
    bot: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    invoice = approved_invoice(bot, fake_slack, fake_stripe)
    fake_stripe.pay_invoice(invoice["id"])
    fake_stripe.dispute(fake_stripe.objects("charge")[0]["id"], amount=40000)
    fake_stripe.add_webhook_endpoint(f"{bot.url}/stripe/webhook", WEBHOOK_SECRET)
    events = fake_stripe.events()
    assert list(fake_stripe.deliveries) == []
    for event in reversed(events):
        assert [d.status for d in fake_stripe.deliver_again(event["id"])] == [200]
    for event in events:
        fake_stripe.deliver_again(event["id"])

    status = bot.command(f"status {invoice['id']}", "U0REQ")
    assert "*Paid*" in status
    assert "paid $1,500.00" in status
    assert "disputed $400.00" in status
    history = status[status.index("*History*") :]
    assert history.index("— finalized") < history.index("— paid") < history.index("— disputed")
    stored = stored_events(database_url)
    assert len(stored) == len(events)
    assert all(processed and deliveries == 2 for _, _, deliveries, processed in stored)
    [dispute] = wait_for(lambda: notifications_about(fake_slack, "Dispute opened"))
    assert "<!here>" in dispute
    settle(fake_stripe)
    assert len(notifications_about(fake_slack, "Dispute opened")) == 1
    assert len(notifications_about(fake_slack, "paid: $1,500.00")) == 1
