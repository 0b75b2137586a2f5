"""What `empire serve` does with requests it must not act on: unsigned, malformed, unauthorised."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws
from integrations.local.slack.server import FakeSlack
from integrations.local.stripe.server import FakeStripe
from storage.db import make_engine
from storage.models import ActionRequest, AuditEntry
from tests.e2e.flows import ask, card_saying
from tests.e2e.harness import ServeProcess, button, card_for, request_id_of

pytestmark = pytest.mark.e2e

INVOICE_USAGE = "/empire invoice &lt;client&gt; &lt;amount&gt;"
REFUND_USAGE = "/empire refund &lt;invoice-id&gt;"
SUBSCRIBE_USAGE = "/empire subscribe &lt;client&gt; &lt;amount&gt;/&lt;week|month|year&gt;"
CANCEL_USAGE = "/empire cancel &lt;subscription-id&gt; [now]"
PAY_USAGE = "/empire pay &lt;invoice-id&gt; [out-of-band &lt;note…&gt;]"
STATUS_USAGE = "/empire status &lt;invoice-id&gt;"
REVENUE_USAGE = "/empire revenue [this-month|last-month|YYYY-MM]"


def readable(text: str) -> str:
    """Text as a person reads it: without the zero-width spaces that keep `#1` from linking."""
    return text.replace("\u200b", "")


# -- reading the database -------------------------------------------------------------


def count(database_url: str, model: Any) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def audit_entries(database_url: str) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    """(kind, actor, request id, payload) of every audit entry, oldest first."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    AuditEntry.kind, AuditEntry.actor, AuditEntry.request_id, AuditEntry.payload
                ).order_by(AuditEntry.seq)
            ).all()
    finally:
        engine.dispose()
    return [(kind, actor, request, json.loads(payload)) for kind, actor, request, payload in rows]


def state_of(database_url: str, request_id: int) -> str:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(
                connection.execute(
                    select(ActionRequest.state).where(ActionRequest.id == request_id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


# -- a card to click on ---------------------------------------------------------------


def pending_card(bot: ServeProcess, fake_slack: FakeSlack) -> tuple[int, dict[str, Any]]:
    request_id = ask(bot, fake_slack, "invoice acme@example.com 250 Logo design")
    card = card_for(fake_slack, request_id)
    assert card is not None
    return request_id, card


def value_of(card: dict[str, Any], action_id: str = "approve") -> str:
    found = button(card, action_id)
    assert found is not None, card
    return str(found["value"])


def click(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    card: dict[str, Any],
    user: str,
    key: str,
    *,
    action_id: str = "approve",
    value: str | None = None,
) -> str:
    """Click a button as `user`; the text of the ephemeral answer at the click's response URL."""
    request = sp.block_action(
        action_id,
        value if value is not None else value_of(card, action_id),
        user_id=user,
        message=card,
        response_url=fake_slack.response_url(key),
    )
    assert bot.post_slack(request).status_code == 200
    answers = fake_slack.wait_for(lambda: fake_slack.responses(key))
    assert len(answers) == 1, answers
    answer = answers[0]
    assert answer.get("response_type", "ephemeral") == "ephemeral", answer
    assert answer.get("replace_original") in (None, False), answer
    return readable(str(answer["text"]))


# -- signatures -----------------------------------------------------------------------


@pytest.mark.parametrize("signing", ["forged", "stale"])
def test_an_unsigned_slash_command_is_refused_and_leaves_no_trace(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str, signing: str
) -> None:
    command = sp.slash_command("invoice acme@example.com 250 Logo design", user_id="U0REQ")
    response = bot.post_slack(command, signing=signing)
    assert response.status_code == 401
    time.sleep(0.3)
    assert count(database_url, ActionRequest) == 0
    assert count(database_url, AuditEntry) == 0
    assert fake_slack.calls("chat.postMessage") == []


def test_a_request_without_signature_headers_is_refused(
    bot: ServeProcess, database_url: str
) -> None:
    command = sp.slash_command("invoice acme@example.com 250 Logo design", user_id="U0REQ")
    response = bot.http.post(
        "/slack/events",
        content=command.body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    assert count(database_url, ActionRequest) == 0
    assert count(database_url, AuditEntry) == 0


@pytest.mark.parametrize("signing", ["forged", "stale"])
def test_an_unsigned_click_is_refused_and_decides_nothing(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    database_url: str,
    signing: str,
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    entries_before = count(database_url, AuditEntry)
    request = sp.block_action("approve", value_of(card), user_id="U0FIN1", message=card)
    assert bot.post_slack(request, signing=signing).status_code == 401
    time.sleep(1.5)  # longer than the executor's polling interval
    assert count(database_url, AuditEntry) == entries_before
    assert state_of(database_url, request_id) == "pending"
    assert fake_stripe.objects("invoice") == []
    assert fake_slack.calls("chat.update") == []


# -- malformed commands ---------------------------------------------------------------

MALFORMED = [
    ("frobnicate acme@example.com 250", "frobnicate", "/empire invoice"),
    ("invoice", "email", INVOICE_USAGE),
    ("invoice nobody-we-know 250 Logo design", "no client has the handle", INVOICE_USAGE),
    ("invoice acme@example.com", "how much", INVOICE_USAGE),
    ("invoice acme@example.com 250", "what the invoice is for", INVOICE_USAGE),
    ("invoice acme@example.com 0 Logo design", "more than zero", INVOICE_USAGE),
    ("invoice acme@example.com -250 Logo design", "more than zero", INVOICE_USAGE),
    ("invoice acme@example.com 10.001 Logo design", "decimal places", INVOICE_USAGE),
    ("invoice acme@example.com lots Logo design", "'lots' is not an amount", INVOICE_USAGE),
    ("invoice acme@example.com 5OO Logo design", "'5OO' is not an amount", INVOICE_USAGE),
    ("invoice acme-at-example.com 250 Logo design", "acme-at-example.com", INVOICE_USAGE),
    ("invoice acme@example.com 250 Logo design due:0", "due:0", INVOICE_USAGE),
    ("refund", "which invoice", REFUND_USAGE),
    ("refund inv_1 5 test", "inv_1", REFUND_USAGE),
    ("refund in_1Abc 5", "why", REFUND_USAGE),
    ("refund in_1Abc 0 wrong amount", "more than zero", REFUND_USAGE),
    ("subscribe acme@example.com 500/day Retainer", "week", SUBSCRIBE_USAGE),
    ("subscribe acme@example.com 500 Retainer", "week", SUBSCRIBE_USAGE),
    ("subscribe acme@example.com 0/month Retainer", "more than zero", SUBSCRIBE_USAGE),
    ("subscribe ghost 500/month Retainer", "no client has the handle", SUBSCRIBE_USAGE),
    ("subscribe acme@example.com 500/month", "plan", SUBSCRIBE_USAGE),
    ("cancel", "which subscription", CANCEL_USAGE),
    ("cancel in_1Abc", "in_1Abc", CANCEL_USAGE),
    ("cancel sub_1Abc tomorrow", "tomorrow", CANCEL_USAGE),
    ("pay", "which invoice", PAY_USAGE),
    ("pay in_1Abc out-of-band", "how the invoice was paid", PAY_USAGE),
    ("pay in_1Abc by cheque", "by", PAY_USAGE),
    ("status", "which invoice", STATUS_USAGE),
    ("status sub_1Abc", "sub_1Abc", STATUS_USAGE),
    ("revenue 2026-13", "2026-13", REVENUE_USAGE),
    ("revenue yesterday", "yesterday", REVENUE_USAGE),
]


def test_malformed_commands_are_answered_with_the_usage_line_and_store_nothing(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    wrong: list[str] = []
    for text, says, usage in MALFORMED:
        response = bot.post_slack(sp.slash_command(text, user_id="U0REQ"))
        assert response.status_code == 200, (text, response.text)
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            assert body.get("response_type", "ephemeral") == "ephemeral", (text, body)
            answer = str(body.get("text", ""))
        else:
            answer = response.text
        # No request number: nothing was stored.
        if usage not in answer or says.lower() not in answer.lower() or re.search(r"#\d", answer):
            wrong.append(f"{text!r} -> {answer!r}")
    assert wrong == []
    assert count(database_url, ActionRequest) == 0
    assert count(database_url, AuditEntry) == 0
    assert fake_slack.calls("chat.postMessage") == []


# -- clicks by the wrong person -------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "says"),
    [("U0OUTSIDER", "does not let you decide"), ("U0REQ", "someone else must decide")],
)
def test_a_click_by_someone_who_may_not_decide_changes_nothing_but_the_audit_log(
    bot: ServeProcess,
    fake_slack: FakeSlack,
    fake_stripe: FakeStripe,
    database_url: str,
    user: str,
    says: str,
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    answer = click(bot, fake_slack, card, user, "refused")
    assert says in answer
    assert f"#{request_id}" in answer
    refused = [e for e in audit_entries(database_url) if e[0] == "click.refused"]
    assert len(refused) == 1
    _kind, actor, audited_request, payload = refused[0]
    assert (actor, audited_request, payload["verb"]) == (user, request_id, "approve")
    assert not [e for e in audit_entries(database_url) if e[0] == "approval.given"]
    time.sleep(1.5)  # longer than the executor's polling interval
    assert state_of(database_url, request_id) == "pending"
    assert fake_slack.calls("chat.update") == []
    assert fake_slack.message(ws.APPROVALS_CHANNEL, card["ts"]) == card
    assert fake_stripe.objects("invoice") == []


def test_a_click_with_a_tampered_button_value_is_refused_as_outdated(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    real_hash = value_of(card).partition(":")[2]
    other_hash = ("0" if real_hash[0] != "0" else "1") + real_hash[1:]
    answer = click(bot, fake_slack, card, "U0FIN1", "tampered", value=f"{request_id}:{other_hash}")
    assert "changed since this card was shown" in answer
    refused = [e for e in audit_entries(database_url) if e[0] == "click.refused"]
    assert [(actor, payload["shown_hash"]) for _, actor, _, payload in refused] == [
        ("U0FIN1", other_hash)
    ]
    time.sleep(1.5)
    assert state_of(database_url, request_id) == "pending"
    assert fake_stripe.objects("invoice") == []
    assert fake_slack.message(ws.APPROVALS_CHANNEL, card["ts"]) == card


def test_an_approval_replayed_after_execution_is_refused_and_invoices_once(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    approval = sp.block_action("approve", value_of(card), user_id="U0FIN1", message=card)
    assert bot.post_slack(approval).status_code == 200
    card_saying(fake_slack, request_id, "Executed")

    answer = click(bot, fake_slack, card, "U0FIN1", "replayed")
    assert "already" in answer
    assert f"#{request_id}" in answer
    assert state_of(database_url, request_id) == "succeeded"
    assert len(fake_stripe.objects("invoice")) == 1
    assert fake_stripe.count("POST", "/v1/invoices") == 1
    kinds = [entry[0] for entry in audit_entries(database_url)]
    assert kinds.count("approval.given") == 1
    assert kinds.count("click.refused") == 1


# -- Deny -----------------------------------------------------------------------------


def open_deny_modal(
    bot: ServeProcess, fake_slack: FakeSlack, card: dict[str, Any], user: str
) -> dict[str, Any]:
    deny = sp.block_action("deny", value_of(card, "deny"), user_id=user, message=card)
    assert bot.post_slack(deny).status_code == 200
    fake_slack.wait_for(lambda: fake_slack.calls("views.open"))
    opened = fake_slack.calls("views.open")
    assert len(opened) == 1
    assert opened[0].args["trigger_id"] == deny.payload["trigger_id"]
    return fake_slack.views[-1]


def test_deny_asks_for_a_reason_and_the_card_shows_who_denied_and_why(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    modal = open_deny_modal(bot, fake_slack, card, "U0FIN2")
    assert modal["callback_id"] == "deny_reason"
    assert modal["private_metadata"] == value_of(card, "deny")

    submission = sp.view_submission(
        "deny_reason",
        modal["private_metadata"],
        {"reason": {"reason": "The amount does not match the contract"}},
        user_id="U0FIN2",
        view=modal,
    )
    response = bot.post_slack(submission)
    assert response.status_code == 200
    assert "errors" not in response.text

    text = card_saying(fake_slack, request_id, "Denied")
    shown = card_for(fake_slack, request_id)
    assert shown is not None
    assert "<@U0FIN2>" in text
    assert "The amount does not match the contract" in text
    assert button(shown, "approve") is None
    assert button(shown, "deny") is None
    assert shown["ts"] == card["ts"]
    assert state_of(database_url, request_id) == "denied"
    denials = [e for e in audit_entries(database_url) if e[0] == "request.denied"]
    assert [(actor, payload["reason"]) for _, actor, _, payload in denials] == [
        ("U0FIN2", "The amount does not match the contract")
    ]
    time.sleep(1.0)
    assert fake_stripe.objects("invoice") == []


def test_deny_without_a_reason_is_answered_with_an_error_in_the_modal(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    modal = open_deny_modal(bot, fake_slack, card, "U0FIN2")
    submission = sp.view_submission(
        "deny_reason",
        modal["private_metadata"],
        {"reason": {"reason": "   "}},
        user_id="U0FIN2",
        view=modal,
    )
    response = bot.post_slack(submission)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert body["errors"]["reason"]
    assert state_of(database_url, request_id) == "pending"
    assert not [e for e in audit_entries(database_url) if e[0] == "request.denied"]


def test_a_deny_click_by_a_non_approver_is_refused_without_a_modal(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    answer = click(bot, fake_slack, card, "U0OUTSIDER", "deny-refused", action_id="deny")
    assert "does not let you decide" in answer
    assert fake_slack.calls("views.open") == []
    refused = [e for e in audit_entries(database_url) if e[0] == "click.refused"]
    assert [actor for _, actor, _, _ in refused] == ["U0OUTSIDER"]
    assert refused[0][3]["verb"] in ("check", "deny")
    assert state_of(database_url, request_id) == "pending"


# -- refunds Stripe does not know -----------------------------------------------------


def test_a_refund_of_an_unknown_invoice_is_refused_after_checking_without_a_card(
    bot: ServeProcess, fake_slack: FakeSlack, fake_stripe: FakeStripe, database_url: str
) -> None:
    answer = bot.command(
        "refund in_doesnotexist 5 test", "U0REQ", response_url=fake_slack.response_url("refund")
    )
    request_id = request_id_of(answer)
    assert "checking" in answer
    replies = fake_slack.wait_for(lambda: fake_slack.responses("refund"), timeout=10)
    assert len(replies) == 1
    refusal = readable(replies[0]["text"])
    assert f"Request #{request_id} was refused" in refusal
    assert "in_doesnotexist" in refusal
    assert REFUND_USAGE in refusal
    assert replies[0].get("response_type", "ephemeral") == "ephemeral"
    assert state_of(database_url, request_id) == "rejected"
    time.sleep(1.0)
    assert fake_slack.calls("chat.postMessage") == []
    assert fake_stripe.objects("refund") == []


def test_a_deny_form_submitted_by_a_non_approver_is_refused_in_the_form(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    submission = sp.view_submission(
        "deny_reason",
        value_of(card, "deny"),
        {"reason": {"reason": "I do not like it"}},
        user_id="U0OUTSIDER",
    )
    response = bot.post_slack(submission)
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert "does not let you decide" in body["errors"]["reason"]
    assert state_of(database_url, request_id) == "pending"
    refused = [e for e in audit_entries(database_url) if e[0] == "click.refused"]
    assert [(actor, payload["verb"]) for _, actor, _, payload in refused] == [
        ("U0OUTSIDER", "deny")
    ]


def test_a_forged_deny_form_is_refused_and_decides_nothing(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    request_id, card = pending_card(bot, fake_slack)
    entries_before = count(database_url, AuditEntry)
    submission = sp.view_submission(
        "deny_reason",
        value_of(card, "deny"),
        {"reason": {"reason": "Forged"}},
        user_id="U0FIN2",
    )
    assert bot.post_slack(submission, signing="forged").status_code == 401
    assert state_of(database_url, request_id) == "pending"
    assert count(database_url, AuditEntry) == entries_before


def test_a_click_for_a_request_that_does_not_exist_is_answered(
    bot: ServeProcess, fake_slack: FakeSlack, database_url: str
) -> None:
    _, card = pending_card(bot, fake_slack)
    answer = click(bot, fake_slack, card, "U0FIN1", "unknown", value=f"999:{'a' * 64}")
    assert "#999" in answer
    assert count(database_url, ActionRequest) == 1
