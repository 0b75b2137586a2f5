"""Time in `empire serve`: cards expire, and Slack gets its answer whatever Stripe does."""

from __future__ import annotations

from pathlib import Path

from integrations.local.slack import payloads as sp
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import ask, card_saying
from tests.e2e.harness import ServeProcess, button, card_for, request_id_of
from tests.policies import STANDARD


def test_an_undecided_request_expires_and_its_card_says_so(
    serve_factory: type, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    (tmp_path / "policy.yml").write_text(
        STANDARD.replace("expires_after: 24h", "expires_after: 2s"), encoding="utf-8"
    )
    bot: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    key = "expiring"
    answer = bot.command(
        "invoice late@example.com 90 Slow work", "U0REQ", fake_slack.response_url(key)
    )
    request_id = request_id_of(answer)
    card_saying(fake_slack, request_id, "Waiting for approval")
    card_saying(fake_slack, request_id, "Expired", timeout=15)
    card = card_for(fake_slack, request_id)
    assert card is not None
    assert button(card, "approve") is None
    replies = fake_slack.wait_for(lambda: fake_slack.responses(key))
    assert "expired" in replies[-1]["text"]


def test_slack_is_answered_before_a_hanging_stripe_answers(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    request_id = ask(bot, fake_slack, "invoice slow@example.com 250 Consulting")
    fake_stripe.delay("GET", r"/v1/.*", 3.0, times=3)
    fake_stripe.delay("POST", r"/v1/.*", 3.0, times=2)
    card = card_for(fake_slack, request_id)
    assert card is not None
    approve = button(card, "approve")
    assert approve is not None

    response = bot.post_slack(
        sp.block_action("approve", approve["value"], user_id="U0FIN1", message=card)
    )
    assert response.status_code == 200
    answer = bot.command("refund in_1Slow 10 Waiting on Stripe", "U0REQ")
    assert "#" in answer
    # Both answers came back while Stripe was still holding every call it was sent.
    assert fake_stripe.count("GET", "/v1/customers") == 0
    assert fake_stripe.count("GET", "/v1/invoices/{id}") == 0
    card_saying(fake_slack, request_id, "Executed", timeout=40)
