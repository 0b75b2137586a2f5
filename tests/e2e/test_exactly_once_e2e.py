"""Exactly once through real processes: Stripe faults, a killed process, two processes."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from integrations.local.slack import payloads as sp
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from storage.db import make_engine
from storage.models import ActionStep
from tests.e2e.flows import ask, card_saying, click
from tests.e2e.harness import WEBHOOK_SECRET, ServeProcess, button, card_for, wait_for

INVOICE = "invoice acme@example.com $2,400 Retainer"


def test_brief_stripe_outages_are_retried_without_doubling(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next("POST", "/v1/invoices", 503, times=2)
    fake_stripe.fail_next("POST", "/v1/invoices/{id}/finalize", 502, after_processing=True)
    fake_stripe.fail_next("POST", "/v1/invoiceitems", 429)
    request_id = ask(bot, fake_slack, INVOICE)
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    assert len(fake_stripe.objects("invoice")) == 1
    assert len(fake_stripe.objects("invoiceitem")) == 1
    assert fake_stripe.objects("invoice")[0]["amount_due"] == 240_000


def test_a_refused_step_fails_the_card_and_retry_resumes_it(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(
        "POST",
        "/v1/invoices/{id}/send",
        400,
        code="invoice_not_editable",
        message="This invoice cannot be sent right now.",
    )
    request_id = ask(bot, fake_slack, INVOICE)
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    failed = card_saying(fake_slack, request_id, "Failed")
    assert "cannot be sent" in failed
    card = card_for(fake_slack, request_id)
    assert card is not None
    assert button(card, "retry") is not None

    click(bot, fake_slack, request_id, "retry", "U0OUTSIDER")  # refused: not an approver
    click(bot, fake_slack, request_id, "retry", "U0FIN2")
    card_saying(fake_slack, request_id, "Executed")
    assert len(fake_stripe.objects("invoice")) == 1
    assert fake_stripe.count("POST", "/v1/invoices/{id}/finalize") == 1
    assert fake_stripe.count("POST", "/v1/invoices/{id}/send", status=200) == 1


def _steps_done(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(ActionStep)).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_process_killed_mid_execution_finishes_on_restart_without_repeating(
    serve_factory: type, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    first: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    request_id = ask(first, fake_slack, INVOICE)
    fake_stripe.delay("POST", "/v1/invoices/{id}/finalize", 2.0)
    click(first, fake_slack, request_id, "approve", "U0FIN1")
    wait_for(lambda: _steps_done(database_url) == 3, what="three steps journaled")
    first.kill()  # while finalize is in flight

    second: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    assert second.url != first.url
    card_saying(fake_slack, request_id, "Executed", timeout=30)
    fake_stripe.wait_until_idle()
    assert len(fake_stripe.objects("invoice")) == 1
    assert len(fake_stripe.objects("invoiceitem")) == 1
    assert fake_stripe.objects("invoice")[0]["status"] == "open"
    assert fake_stripe.count("POST", "/v1/invoices/{id}/send") == 1
    finalizes = fake_stripe.calls("POST", "/v1/invoices/{id}/finalize")
    assert all(call.idempotency_key == finalizes[0].idempotency_key for call in finalizes)


def test_two_processes_on_one_database_execute_once_under_twenty_clicks(
    serve_factory: type, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    one: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    two: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    fake_stripe.add_webhook_endpoint(f"{one.url}/stripe/webhook", WEBHOOK_SECRET)
    request_id = ask(one, fake_slack, INVOICE)
    card = card_for(fake_slack, request_id)
    assert card is not None
    approve = button(card, "approve")
    assert approve is not None
    clicks = [
        sp.block_action("approve", approve["value"], user_id=user, message=card).signed()
        for user in ["U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1"] * 5
    ]
    barrier = threading.Barrier(len(clicks))
    statuses: list[int] = []

    def send(index: int) -> None:
        target = (one, two)[index % 2]
        body, headers = clicks[index]
        barrier.wait()
        statuses.append(
            target.http.post("/slack/events", content=body, headers=headers).status_code
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(clicks)
    card_saying(fake_slack, request_id, "Executed")
    fake_stripe.wait_until_idle()
    assert len(fake_stripe.objects("invoice")) == 1
    assert fake_stripe.count("POST", "/v1/invoices/{id}/finalize") == 1
    assert fake_stripe.count("POST", "/v1/invoices/{id}/send") == 1
