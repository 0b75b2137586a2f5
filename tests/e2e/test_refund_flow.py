"""Refunds through `empire serve`: the parliament rule, the whole rest, what is left."""

from __future__ import annotations

from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import ask, card_saying, click, invoice_paid
from tests.e2e.harness import ServeProcess, card_for, card_text


def test_a_refund_over_ten_thousand_needs_two_finance_approvers(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice_id = invoice_paid(bot, fake_slack, fake_stripe)
    request_id = ask(bot, fake_slack, f"refund {invoice_id} 12000 Project cancelled")
    text = card_saying(fake_slack, request_id, "parliament")
    assert "$12,000.00" in text
    assert "0 of 2" in text

    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "1 of 2")
    assert fake_stripe.objects("refund") == []
    click(bot, fake_slack, request_id, "approve", "U0SALES1")  # not finance: refused
    click(bot, fake_slack, request_id, "approve", "U0FIN2")

    done = card_saying(fake_slack, request_id, "Executed")
    refunds = fake_stripe.objects("refund")
    assert len(refunds) == 1
    assert refunds[0]["amount"] == 1_200_000
    assert refunds[0]["id"] in done
    assert refunds[0]["metadata"]["empire_action_id"].startswith("act_")


def test_a_refund_without_an_amount_takes_the_whole_rest(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice_id = invoice_paid(bot, fake_slack, fake_stripe, amount="$800")
    first = ask(bot, fake_slack, f"refund {invoice_id} 300 Partial")
    click(bot, fake_slack, first, "approve", "U0FIN1")
    card_saying(fake_slack, first, "Executed")

    rest = ask(bot, fake_slack, f"refund {invoice_id} Customer request")
    assert "$500.00" in card_saying(fake_slack, rest, "whole refundable rest")
    click(bot, fake_slack, rest, "approve", "U0FIN3")
    card_saying(fake_slack, rest, "Executed")
    amounts = sorted(refund["amount"] for refund in fake_stripe.objects("refund"))
    assert amounts == [30_000, 50_000]

    answer = bot.command(f"refund {invoice_id} Again", "U0REQ")
    assert "checking" in answer.lower()


def test_the_rest_is_read_again_right_before_refunding(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    invoice_id = invoice_paid(bot, fake_slack, fake_stripe, amount="$800")
    first = ask(bot, fake_slack, f"refund {invoice_id} 600 First")
    second = ask(bot, fake_slack, f"refund {invoice_id} 600 Second")
    click(bot, fake_slack, first, "approve", "U0FIN1")
    card_saying(fake_slack, first, "Executed")
    click(bot, fake_slack, second, "approve", "U0FIN1")
    failed = card_saying(fake_slack, second, "Failed")
    assert "$200.00" in failed
    assert len(fake_stripe.objects("refund")) == 1
    card = card_for(fake_slack, second)
    assert card is not None
    assert "Retry" in card_text(card)
