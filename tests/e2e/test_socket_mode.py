"""`empire serve` with SLACK_APP_TOKEN: Slack traffic over Socket Mode instead of HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from tests.e2e.flows import card_saying
from tests.e2e.harness import ServeProcess, button, card_for, card_text, request_id_of, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def socket_bot(serve_factory: type, fake_slack: FakeSlack) -> ServeProcess:
    process: ServeProcess = serve_factory.start(SLACK_APP_TOKEN=ws.APP_TOKEN)  # type: ignore[attr-defined]
    assert fake_slack.socket_connected(timeout=10)
    return process


def approval_card(fake_slack: FakeSlack, request_id: int) -> dict[str, Any]:
    wait_for(lambda: card_for(fake_slack, request_id), what="the approval card")
    card = card_for(fake_slack, request_id)
    assert card is not None
    return card


def ack_text(ack: dict[str, Any]) -> str:
    return str((ack.get("payload") or {}).get("text", ""))


def test_serve_connects_to_socket_mode_with_the_app_token(
    socket_bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    opened = fake_slack.calls("apps.connections.open")
    assert len(opened) >= 1
    assert {call.token for call in opened} == {ws.APP_TOKEN}


def test_a_command_and_an_approval_over_socket_mode_execute_the_invoice(
    socket_bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    command = sp.slash_command("invoice acme@example.com $1,500 Website", user_id="U0REQ")
    ack = fake_slack.socket_send(command.envelope_type, command.payload)
    answer = ack_text(ack)
    request_id = request_id_of(answer)
    assert f"#{request_id}" in answer

    card = approval_card(fake_slack, request_id)
    assert "acme@example.com" in card_text(card)
    approve = button(card, "approve")
    assert approve is not None

    click = sp.block_action("approve", approve["value"], user_id="U0FIN1", message=card)
    fake_slack.socket_send(click.envelope_type, click.payload)

    done = card_saying(fake_slack, request_id, "Executed")
    invoices = fake_stripe.objects("invoice")
    assert len(invoices) == 1
    assert invoices[0]["id"] in done
    assert invoices[0]["amount_due"] == 150000
    assert fake_stripe.count("POST", "/v1/invoices/{id}/send") == 1


def test_a_malformed_command_over_socket_mode_is_answered_with_the_usage_line(
    socket_bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    command = sp.slash_command("invoice acme@example.com 0 Website", user_id="U0REQ")
    answer = ack_text(fake_slack.socket_send(command.envelope_type, command.payload))
    assert "more than zero" in answer
    assert "Usage:" in answer
    assert fake_slack.calls("chat.postMessage") == []


def test_a_click_by_an_outsider_over_socket_mode_is_refused(
    socket_bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe
) -> None:
    command = sp.slash_command("invoice acme@example.com 40 Tea", user_id="U0REQ")
    request_id = request_id_of(ack_text(fake_slack.socket_send("slash_commands", command.payload)))
    card = approval_card(fake_slack, request_id)
    approve = button(card, "approve")
    assert approve is not None
    click = sp.block_action(
        "approve",
        approve["value"],
        user_id="U0OUTSIDER",
        message=card,
        response_url=fake_slack.response_url("outsider"),
    )
    fake_slack.socket_send("interactive", click.payload)
    answers = fake_slack.wait_for(lambda: fake_slack.responses("outsider"))
    assert "does not let you decide" in answers[0]["text"]
    assert fake_stripe.objects("invoice") == []
    assert fake_slack.calls("chat.update") == []
