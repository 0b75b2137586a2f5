"""Steps that several end-to-end tests take: ask, wait for the card, click."""

from __future__ import annotations

from typing import Any

from integrations.local.slack import payloads as sp
from integrations.local.slack.server import FakeSlack
from tests.e2e.harness import (
    NOTIFY_CHANNEL,
    ServeProcess,
    button,
    card_for,
    card_text,
    request_id_of,
    wait_for,
)


def ask(bot: ServeProcess, fake_slack: FakeSlack, text: str, user: str = "U0REQ") -> int:
    request_id = request_id_of(bot.command(text, user))
    wait_for(lambda: card_for(fake_slack, request_id), what=f"the card of #{request_id}")
    return request_id


def click(
    bot: ServeProcess, fake_slack: FakeSlack, request_id: int, action: str, user: str
) -> None:
    card = card_for(fake_slack, request_id)
    assert card is not None
    found = button(card, action)
    assert found is not None, f"no {action} button on #{request_id}"
    response = bot.post_slack(sp.block_action(action, found["value"], user_id=user, message=card))
    assert response.status_code == 200


def card_saying(fake_slack: FakeSlack, request_id: int, words: str, timeout: float = 20) -> str:
    def current() -> str | None:
        card: dict[str, Any] | None = card_for(fake_slack, request_id)
        text = card_text(card) if card else ""
        return text if words in text else None

    return wait_for(current, timeout=timeout, what=f"#{request_id} to say {words!r}")


def invoice_paid(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: Any, amount: str = "$15,000"
) -> str:
    """An invoice approved, sent and paid by the customer; returns its id."""
    request_id = ask(bot, fake_slack, f"invoice acme@example.com {amount} Platform build")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card_saying(fake_slack, request_id, "Executed")
    invoice_id = str(fake_stripe.objects("invoice")[0]["id"])
    fake_stripe.pay_invoice(invoice_id)
    return invoice_id


def notified(fake_slack: FakeSlack, words: str, timeout: float = 15) -> str:
    """The first message in the notify channel saying `words`, once it is there."""

    def find() -> str | None:
        for message in fake_slack.messages(NOTIFY_CHANNEL):
            if words in message.get("text", ""):
                return str(message["text"])
        return None

    return wait_for(find, timeout=timeout, what=f"a notification saying {words!r}")
