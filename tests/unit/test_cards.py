"""Approval cards and the deny modal: buttons per state, escaping, Block Kit limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import messages
from bot.blocks import CARD_STATES, CardView, build_card, build_deny_modal
from bot.blocks.cards import Edit
from bot.blocks.modals import build_edit_modal, edited_values
from bot.escape import slack_length
from governance.actions.base import EditableField

EXPIRES = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOSTED = "<https://invoice.stripe.com/i/acct_1/test_1|Hosted invoice>"
VIEW = CardView(
    request_id=12,
    title="Invoice",
    state="pending",
    fields=(
        ("Client", "acme@example.com"),
        ("Amount", "$1,500.00"),
        ("Description", "Website redesign"),
    ),
    requester="U0SALES1",
    rule_name="invoices",
    approvals_required=2,
    approved_by=("U0FIN1",),
    approver_hint="finance",
    expires_at=EXPIRES,
    button_value="12:ab34",
)
ATTACKS = ("<!channel>", "<@U123>", "<http://x|y>", "@here", "@everyone", "<!subteam^S1>")
ATTACK = " ".join(ATTACKS)


def card(**changes: Any) -> list[dict[str, Any]]:
    return build_card(replace(VIEW, **changes))[1]


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [block for block in blocks if block["type"] == kind]


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    return [
        (button["text"]["text"], button["action_id"], button["value"], button.get("style"))
        for block in of_type(blocks, "actions")
        for button in block["elements"]
    ]


def status(blocks: list[dict[str, Any]]) -> str:
    text: str = of_type(blocks, "section")[-1]["text"]["text"]
    return text


def context(blocks: list[dict[str, Any]]) -> str:
    return " · ".join(element["text"] for element in of_type(blocks, "context")[0]["elements"])


def field_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        field["text"] for block in of_type(blocks, "section") for field in block.get("fields", [])
    ]


def assert_valid_block_kit(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
        for field in block.get("fields", []):
            assert slack_length(field["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
        if "text" in block and block["type"] == "section":
            assert slack_length(block["text"]["text"]) <= 3000
        for element in block.get("elements", []):
            if element["type"] == "button":
                assert slack_length(element["text"]["text"]) <= 75
                assert len(element["value"]) <= 2000


def test_pending_card_has_approve_and_deny_with_the_button_value() -> None:
    assert buttons(card()) == [
        ("Approve", "approve", "12:ab34", "primary"),
        ("Deny", "deny", "12:ab34", "danger"),
    ]


def test_failed_card_has_only_retry() -> None:
    blocks = card(state="failed", failure_reason="card_declined")
    assert buttons(blocks) == [("Retry", "retry", "12:ab34", None)]
    assert status(blocks) == "Failed: card_declined"


@pytest.mark.parametrize("state", sorted(CARD_STATES - {"pending", "failed"}))
def test_no_buttons_outside_pending_and_failed(state: str) -> None:
    assert buttons(card(state=state)) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state": "received"}, messages.STATUS_RECEIVED),
        ({"state": "pending"}, "Waiting for approval"),
        ({"state": "approved"}, "Approved — executing…"),
        ({"state": "executing"}, "Approved — executing…"),
        ({"state": "succeeded"}, "Executed"),
        (
            {"state": "succeeded", "result_lines": ("Invoice in_123 · INV-0001", HOSTED)},
            f"Executed\nInvoice in_123 · INV-0001\n{HOSTED}",
        ),
        ({"state": "failed"}, "Failed"),
        (
            {"state": "failed", "failure_reason": "Your card was declined."},
            "Failed: Your card was declined.",
        ),
        (
            {"state": "denied", "denied_by": "U0FIN2", "deny_reason": "too much"},
            "Denied by <@U0FIN2>: too much",
        ),
        ({"state": "denied", "denied_by": "U0FIN2"}, "Denied by <@U0FIN2>"),
        ({"state": "denied"}, "Denied"),
        ({"state": "expired"}, "Expired"),
        ({"state": "cancelled"}, "Cancelled"),
        ({"state": "rejected", "failure_reason": "forbidden client"}, "Rejected: forbidden client"),
    ],
)
def test_status_line_per_state(changes: dict[str, Any], expected: str) -> None:
    assert status(card(**changes)) == expected


def test_header_names_the_action_and_the_request() -> None:
    (header,) = of_type(card(), "header")
    assert header["text"] == {"type": "plain_text", "text": "Invoice #12", "emoji": True}


def test_fields_show_label_and_value() -> None:
    assert field_texts(card()) == [
        "*Client*\nacme@example.com",
        "*Amount*\n$1,500.00",
        "*Description*\nWebsite redesign",
    ]


def test_context_shows_requester_rule_approvals_and_expiry() -> None:
    text = context(card(approved_by=("U0FIN1", "U0FIN3"), approvals_required=3))
    assert "Requested by <@U0SALES1>" in text
    assert "Rule: *invoices*" in text
    assert "Approvals: 2 of 3 (<@U0FIN1>, <@U0FIN3>)" in text
    assert "Who may approve: finance" in text
    assert "Expires <!date^1777636800^{date_short_pretty} at {time}|2026-05-01 12:00 UTC>" in text


def test_no_approvals_yet_reads_zero_of_m() -> None:
    assert "Approvals: 0 of 2" in context(card(approved_by=()))
    assert "(" not in context(card(approved_by=()))


def test_expiry_fallback_is_in_utc_for_any_zone() -> None:
    eastern = EXPIRES.astimezone(timezone(timedelta(hours=-4)))
    assert "|2026-05-01 12:00 UTC>" in context(card(expires_at=eastern))


@pytest.mark.parametrize("state", ["approved", "succeeded", "denied", "expired"])
def test_decided_cards_drop_the_expiry_and_the_approver_hint(state: str) -> None:
    text = context(card(state=state))
    assert "Expires" not in text
    assert "Who may approve" not in text
    assert "Approvals: 1 of 2" in text


def test_fallback_text_names_the_request_and_no_outside_text() -> None:
    fallback, _ = build_card(replace(VIEW, fields=(("Description", ATTACK),)))
    assert fallback == "Invoice #12: Waiting for approval"


@pytest.mark.parametrize(
    "changes",
    [
        {"fields": (("Description", ATTACK),)},
        {"fields": ((ATTACK, "label is escaped too"),)},
        {"state": "denied", "denied_by": "U0FIN2", "deny_reason": ATTACK},
        {"state": "failed", "failure_reason": ATTACK},
        {"state": "rejected", "failure_reason": ATTACK},
        {"rule_name": ATTACK},
        {"approver_hint": ATTACK},
        {"requester": "U1> <!channel"},
        {"approved_by": ("U1> <!channel",)},
        {"state": "denied", "denied_by": "<!everyone>"},
    ],
)
def test_outside_text_can_never_mention_or_link(changes: dict[str, Any]) -> None:
    blocks = card(**changes)
    dumped = json.dumps(blocks, ensure_ascii=False)
    for attack in (*ATTACKS, "<!channel", "<!everyone"):
        assert attack not in dumped
    assert not re.search(r"(?<!\w)@(?:here|channel|everyone)", dumped)
    assert_valid_block_kit(blocks)


def test_every_mrkdwn_object_is_verbatim() -> None:
    dumped = json.dumps(card())
    assert dumped.count('"type": "mrkdwn"') == dumped.count('"verbatim": true')


@pytest.mark.parametrize("state", sorted(CARD_STATES))
def test_every_state_is_valid_block_kit(state: str) -> None:
    assert_valid_block_kit(
        card(state=state, denied_by="U0FIN2", deny_reason="no", failure_reason="boom")
    )


def test_long_outside_text_is_cut_to_the_limits() -> None:
    huge = "&<x" * 5000
    blocks = card(
        state="denied",
        title="Invoice" * 50,
        fields=tuple((f"Label {n} {huge}", huge) for n in range(25)),
        denied_by="U0FIN2",
        deny_reason=huge,
        rule_name=huge,
        approver_hint=huge,
        approved_by=tuple(f"U{n:08d}" for n in range(500)),
    )
    assert_valid_block_kit(blocks)
    assert [len(block["fields"]) for block in of_type(blocks, "section")[:-1]] == [10, 10, 5]
    assert slack_length(of_type(blocks, "header")[0]["text"]["text"]) <= 150
    assert all(
        slack_length(element["text"]) <= 3000
        for element in of_type(blocks, "context")[0]["elements"]
    )
    assert status(blocks).endswith("…")


def test_many_result_lines_keep_whole_lines() -> None:
    lines = tuple(f"{HOSTED} {n}" for n in range(200))
    text = status(card(state="succeeded", result_lines=lines))
    assert slack_length(text) <= 3000
    kept = text.split("\n")
    assert kept[0] == "Executed"
    assert kept[-1] == "…"
    assert all(line in lines for line in kept[1:-1])


@given(
    st.text(max_size=3000),
    st.text(max_size=300),
    st.sampled_from(sorted(CARD_STATES)),
)
def test_any_outside_text_gives_a_valid_card(value: str, reason: str, state: str) -> None:
    blocks = card(
        state=state,
        fields=(("Description", value),),
        deny_reason=reason,
        failure_reason=reason,
        rule_name=reason,
        denied_by="U0FIN2",
    )
    assert_valid_block_kit(blocks)
    texts = [*field_texts(blocks), status(blocks)]
    assert not any("<" in text and "<@U0FIN2>" not in text for text in texts)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"state": "approving"}, "unknown card state"),
        ({"expires_at": datetime(2026, 5, 1, 12, 0)}, "timezone-aware"),
        ({"button_value": "x" * 2001}, "button_value"),
        ({"button_value": ""}, "button_value"),
    ],
)
def test_a_card_that_slack_would_reject_is_a_programming_error(
    changes: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        build_card(replace(VIEW, **changes))


def test_button_value_of_2000_characters_fits() -> None:
    value = "v" * 2000
    assert {button[2] for button in buttons(card(button_value=value))} == {value}


def test_deny_modal() -> None:
    modal = build_deny_modal("12:ab34", 12)
    View(**modal).validate_json()
    assert modal["type"] == "modal"
    assert modal["callback_id"] == "deny_reason"
    assert modal["private_metadata"] == "12:ab34"
    assert modal["submit"]["text"] == "Deny"
    assert modal["title"]["text"] == "Deny request #12"
    (reason,) = [block for block in modal["blocks"] if block["type"] == "input"]
    assert reason["block_id"] == "reason"
    assert reason["optional"] is False
    assert reason["element"]["type"] == "plain_text_input"
    assert reason["element"]["action_id"] == "reason"
    assert reason["element"]["multiline"] is True


def test_deny_modal_title_fits_for_any_request_id() -> None:
    modal = build_deny_modal("v", 10**15)
    View(**modal).validate_json()
    assert slack_length(modal["title"]["text"]) <= 24


def test_deny_modal_refuses_metadata_slack_would_reject() -> None:
    with pytest.raises(ValueError, match="button_value"):
        build_deny_modal("x" * 3001, 12)


# -- edits ------------------------------------------------------------------------------


def test_an_editable_pending_card_has_edit_after_approve_and_deny() -> None:
    assert [b[1] for b in buttons(card(editable=True))] == ["approve", "deny", "edit"]
    assert buttons(card(editable=True, state="approved")) == []


def test_the_card_shows_what_the_last_edit_changed_escaped() -> None:
    edits = (
        Edit("U0REQ", (("Amount", "$1.00", "$2.00"),)),
        Edit("U0SALES1", (("Amount", "$2.00", "$1,500.00"), ("Description", ATTACK, "Redesign"))),
    )
    blocks = card(edits=edits)
    assert_valid_block_kit(blocks)
    note = of_type(blocks, "context")[0]["elements"][0]["text"]
    assert note.startswith(":pencil2: Edited by <@U0SALES1>: Amount $2.00 → $1,500.00")
    assert "(edited 2 times)" in note
    assert "no longer count" in note
    for attack in ("<!channel>", "<@U123>", "<http://x|y>"):
        assert attack not in note


def test_the_edit_modal_offers_each_field_filled_in() -> None:
    fields = [
        EditableField("amount", "Amount", "$1,500.00"),
        EditableField("description", "Description", "x" * 600, multiline=True),
    ]
    modal = build_edit_modal("12:ab34", 12, fields)
    View(**modal).validate_json()
    assert (modal["callback_id"], modal["private_metadata"]) == ("edit_request", "12:ab34")
    inputs = [b for b in modal["blocks"] if b["type"] == "input"]
    assert (inputs[0]["block_id"], inputs[0]["element"]["initial_value"]) == ("amount", "$1,500.00")
    assert len(inputs[1]["element"]["initial_value"]) == 500  # within the input's limit


def test_submitted_values_are_read_by_field() -> None:
    view = {
        "state": {
            "values": {
                "amount": {"value": {"type": "plain_text_input", "value": "900"}},
                "description": {"value": {"type": "plain_text_input", "value": None}},
            }
        }
    }
    assert edited_values(view) == {"amount": "900", "description": ""}
