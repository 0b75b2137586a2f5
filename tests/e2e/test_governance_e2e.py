"""Governance in depth through `empire serve` and Slack: groups, edits, withdrawal, time,
policy changes and explanations."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack, run_fake_slack
from tests.e2e.flows import card_saying, click, notified
from tests.e2e.harness import (
    NOTIFY_CHANNEL,
    ServeProcess,
    button,
    card_for,
    request_id_of,
    wait_for,
)

pytestmark = pytest.mark.e2e

USERS = ["U0REQ", "U0FIN1", "U0FIN2", "U0FIN9", "U0SALES1", "U0OWN1", "U0OUTSIDER"]

POLICY = """\
version: 1
groups:
  finance: [U0FIN1, U0FIN2, "@fin-team"]
  sales: [U0SALES1]
  owners: [U0OWN1]
defaults:
  approvers: [finance]
  approvals: 1
  expires_after: 1h
  remind_after: 2s
  escalate_after: 4s
  escalate_to: [owners]
rules:
  - name: no-crypto
    action: payments.*
    client: "*@crypto.example"
    forbid: true
  - name: sales-asks
    action: payments.invoice
    requester: [sales]
    approvals: 2
    editable: true
"""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with run_fake_slack(users=USERS, usergroups={"fin-team": ["U0FIN9"]}) as fake:
        yield fake


@pytest.fixture
def bot(serve_factory: type, tmp_path: Path) -> ServeProcess:
    (tmp_path / "policy.yml").write_text(POLICY, encoding="utf-8")
    process: ServeProcess = serve_factory.start()  # type: ignore[attr-defined]
    return process


def ask(bot: ServeProcess, fake_slack: FakeSlack, text: str, user: str) -> int:
    request_id = request_id_of(bot.command(text, user))
    wait_for(lambda: card_for(fake_slack, request_id), what=f"the card of #{request_id}")
    return request_id


def direct_messages_to(fake_slack: FakeSlack, user: str) -> list[str]:
    """What the bot wrote to `user` directly (the fake gives a user one DM channel)."""
    client = WebClient(token=ws.BOT_TOKEN, base_url=fake_slack.api_url)
    channel = client.conversations_open(users=user)["channel"]["id"]
    return [str(m["text"]) for m in fake_slack.messages(channel)]


def test_a_slack_user_group_member_approves(bot: ServeProcess, fake_slack: FakeSlack) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 500 Design", "U0REQ")
    click(bot, fake_slack, request_id, "approve", "U0FIN9")
    card_saying(fake_slack, request_id, "Approved")


def test_a_forbidden_client_is_refused_before_any_card(bot: ServeProcess) -> None:
    answer = bot.command("invoice boss@crypto.example 500 Coins", "U0REQ")
    assert "no-crypto" in answer
    assert "refused" in answer


def test_an_edit_through_the_modal_voids_approvals_and_shows_the_change(
    bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 1000 Design", "U0SALES1")
    click(bot, fake_slack, request_id, "approve", "U0FIN1")
    card = card_saying(fake_slack, request_id, "1 of 2")
    shown = card_for(fake_slack, request_id)
    assert shown is not None
    edit = button(shown, "edit")
    assert edit is not None
    response = bot.post_slack(
        sp.block_action("edit", edit["value"], user_id="U0SALES1", message=shown)
    )
    assert response.status_code == 200
    modal = fake_slack.wait_for(lambda: fake_slack.views and fake_slack.views[-1])
    assert modal["callback_id"] == "edit_request"
    inputs = {b["block_id"]: b["element"].get("initial_value") for b in modal["blocks"][1:]}
    assert inputs == {"amount": "$1,000.00", "description": "Design", "due_days": "30"}

    bad = sp.view_submission(
        "edit_request",
        modal["private_metadata"],
        {
            "amount": {"value": "lots"},
            "description": {"value": "Design"},
            "due_days": {"value": "30"},
        },
        user_id="U0SALES1",
        view=modal,
    )
    refused = bot.post_slack(bad).json()
    assert refused["response_action"] == "errors"
    assert "amount" in refused["errors"]

    good = sp.view_submission(
        "edit_request",
        modal["private_metadata"],
        {
            "amount": {"value": "900"},
            "description": {"value": "Design, with discount"},
            "due_days": {"value": "30"},
        },
        user_id="U0SALES1",
        view=modal,
    )
    assert bot.post_slack(good).status_code == 200
    text = card_saying(fake_slack, request_id, "Edited by")
    assert "$1,000.00 → $900.00" in text
    assert "0 of 2" in text
    assert card != text
    # The old card's Approve (the payload shown before the edit) changes nothing.
    old = sp.block_action("approve", edit["value"], user_id="U0FIN2", message=shown)
    assert bot.post_slack(old).status_code == 200
    time.sleep(1.0)
    assert "0 of 2" in card_saying(fake_slack, request_id, "Edited by")


def test_the_requester_withdraws_and_the_card_says_so(
    bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 500 Design", "U0REQ")
    assert "only the person who asked" in bot.command(f"cancel #{request_id}", "U0FIN1").lower()
    assert "withdrawn" in bot.command(f"cancel #{request_id}", "U0REQ")
    card_saying(fake_slack, request_id, "Withdrawn by")


def test_waiting_approvers_are_reminded_then_the_owners_asked(
    bot: ServeProcess, fake_slack: FakeSlack
) -> None:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 500 Design", "U0REQ")
    reminder = wait_for(
        lambda: direct_messages_to(fake_slack, "U0FIN1"), timeout=20, what="a reminder DM"
    )
    assert f"#{request_id}" in reminder[0]
    assert "still waiting" in reminder[0]
    # The user group's member is reminded too.
    wait_for(lambda: direct_messages_to(fake_slack, "U0FIN9"), what="a reminder to U0FIN9")
    escalation = wait_for(
        lambda: direct_messages_to(fake_slack, "U0OWN1"), timeout=20, what="an escalation DM"
    )
    assert "waited too long" in escalation[0]
    card_saying(fake_slack, request_id, "owners")
    click(bot, fake_slack, request_id, "approve", "U0OWN1")
    card_saying(fake_slack, request_id, "Approved")
    assert len(direct_messages_to(fake_slack, "U0FIN1")) == 1


def test_a_policy_change_is_announced_once_and_a_broken_file_leaves_the_old(
    bot: ServeProcess, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY.replace("approvals: 2", "approvals: 3"), encoding="utf-8")
    changed = notified(fake_slack, "The approval policy changed")
    assert "sales-asks" in changed
    policy.write_text("version: 1\nrules: [oops\n", encoding="utf-8")
    broken = notified(fake_slack, "no longer loads")
    assert "<!here>" in broken
    request_id = ask(bot, fake_slack, "invoice acme@example.com 500 Design", "U0SALES1")
    card_saying(fake_slack, request_id, "0 of 3")  # the last good policy
    time.sleep(6)
    texts = [m["text"] for m in fake_slack.messages(NOTIFY_CHANNEL)]
    assert sum("policy changed" in t for t in texts) == 1
    assert sum("no longer loads" in t for t in texts) == 1


def test_policy_in_slack_shows_the_rules_and_explains_one(bot: ServeProcess) -> None:
    overview = bot.command("policy", "U0REQ")
    assert "sales-asks" in overview
    assert "forbidden" in overview
    explained = bot.command("policy payments.invoice 500", "U0SALES1")
    assert "Applies: rule 'sales-asks'" in explained
    assert "2 approvals from finance" in explained
