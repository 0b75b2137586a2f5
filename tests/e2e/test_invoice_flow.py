"""The invoice flow through `empire serve`: command, card, approval, Stripe, card update."""

from __future__ import annotations

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.harness import ServeProcess, button, card_for, card_text, request_id_of, wait_for


def test_help_answers_with_every_command(bot: ServeProcess) -> None:
    answer = bot.command("help", "U0REQ")
    assert "/empire invoice" in answer
    assert "/empire refund" in answer


def test_invoice_is_approved_then_created_finalized_and_sent_once(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    answer = bot.command("invoice acme@example.com $1,500 Website development", "U0REQ")
    request_id = request_id_of(answer)
    card = wait_for(lambda: card_for(fake_slack, request_id), what="the approval card")
    text = card_text(card)
    assert "acme@example.com" in text
    assert "$1,500.00" in text
    assert "<@U0REQ>" in text
    assert "invoices" in text
    approve = button(card, "approve")
    assert approve is not None
    assert approve["text"]["text"] == "Approve"
    assert button(card, "deny") is not None

    click = sp.block_action("approve", approve["value"], user_id="U0FIN1", message=card)
    assert bot.post_slack(click).status_code == 200

    def executed() -> dict[str, object] | None:
        current = card_for(fake_slack, request_id)
        return current if current and "Executed" in card_text(current) else None

    done = card_text(wait_for(executed, what="the card to say Executed"))
    invoices = fake_stripe.objects("invoice")
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["id"] in done
    assert invoice["hosted_invoice_url"] in done
    assert invoice["status"] == "open"
    assert invoice["amount_due"] == 150000
    assert invoice["collection_method"] == "send_invoice"
    assert invoice["metadata"]["empire_action_id"].startswith("act_")
    assert fake_stripe.count("POST", "/v1/invoices/{id}/finalize") == 1
    assert fake_stripe.count("POST", "/v1/invoices/{id}/send") == 1
    assert button(card_for(fake_slack, request_id) or {}, "approve") is None


def test_the_card_lands_in_the_approvals_channel_only(
    bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    request_id = request_id_of(bot.command("invoice a@example.com 20 Tea", "U0REQ"))
    wait_for(lambda: card_for(fake_slack, request_id))
    posts = fake_slack.calls("chat.postMessage")
    assert [call.args["channel"] for call in posts] == [ws.APPROVALS_CHANNEL]
