"""`/empire clients`, `status` and `revenue` through `empire serve`, from the ledger Stripe fed."""

from __future__ import annotations

import pytest

from integrations.local.slack import payloads as sp
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import ask, card_saying, click, invoice_paid, notified
from tests.e2e.harness import ServeProcess, card_text, wait_for

pytestmark = pytest.mark.e2e


def test_an_invoice_shows_in_clients_status_and_revenue(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice_id = invoice_paid(bot, fake_slack, fake_stripe, amount="$1,500")
    notified(fake_slack, "paid: $1,500.00")
    refund = ask(bot, fake_slack, f"refund {invoice_id} 250 Late delivery")
    click(bot, fake_slack, refund, "approve", "U0FIN1")
    card_saying(fake_slack, refund, "Executed")
    notified(fake_slack, "Refunded $250.00")

    clients = bot.command("clients", "U0REQ")
    assert "`acme`" in clients
    assert "acme@example.com" in clients

    status = wait_for(
        lambda: (
            (text := bot.command(f"status {invoice_id}", "U0REQ")) and "refunded" in text and text
        ),
        what="the refund in the ledger",
    )
    assert "*Paid*" in status
    assert "due $1,500.00" in status
    assert "paid $1,500.00" in status
    assert "refunded $250.00" in status
    assert "sent to the client" in status
    assert "#1 payments.invoice (succeeded)" in status
    assert f"#{refund} payments.refund (succeeded)" in status

    answer = bot.post_slack(sp.slash_command("revenue this-month", user_id="U0REQ")).json()
    revenue = card_text(answer)
    assert "$1,500.00" in revenue
    assert "$250.00" in revenue
    assert "$1,250.00" in revenue  # net

    def chart() -> object:
        return [f for f in fake_slack.files if f.completed and f.title and "Revenue" in f.title]

    uploaded = wait_for(chart, what="the revenue chart")
    assert isinstance(uploaded, list)
    png = uploaded[0]
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.filename.endswith("-usd.png")


def test_a_client_is_named_by_handle(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice_paid(bot, fake_slack, fake_stripe, amount="$100")
    wait_for(lambda: "`acme`" in bot.command("clients", "U0REQ"), what="acme in the registry")
    request_id = ask(bot, fake_slack, "invoice acme 200 Support hours")
    assert "acme@example.com" in card_saying(fake_slack, request_id, "$200.00")


def test_status_of_an_invoice_the_ledger_never_heard_of(bot: ServeProcess) -> None:
    answer = bot.command("status in_NeverHeardOf", "U0REQ")
    assert "nothing on" in answer
    assert "in_NeverHeardOf" in answer
