"""The card and the approvers' DMs say which API client asked, never mentioning anyone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.blocks import CardView, build_card
from bot.card_view import _api_client
from bot.notifications import render_direct

VIEW = CardView(
    request_id=7,
    title="Invoice",
    state="pending",
    fields=(("Client", "acme@example.com"),),
    requester="api:crm",
    rule_name="invoices",
    approvals_required=1,
    approved_by=(),
    approver_hint="finance",
    expires_at=datetime(2026, 5, 1, tzinfo=UTC),
    button_value="7:ab",
    api_client="crm",
)


def context_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        element["text"]
        for block in blocks
        if block["type"] == "context"
        for element in block["elements"]
    )


def test_the_card_names_the_api_client() -> None:
    text = context_text(build_card(VIEW)[1])
    assert "Requested by API client `crm`" in text
    assert "<@" not in text


def test_a_slack_request_still_mentions_its_requester() -> None:
    text = context_text(build_card(replace(VIEW, requester="U0REQ", api_client=None))[1])
    assert "Requested by <@U0REQ>" in text


def test_a_hostile_token_name_cannot_mention_or_break_out() -> None:
    text = context_text(build_card(replace(VIEW, api_client="<!channel>`x"))[1])
    assert "<!channel>" not in text
    assert "`<" not in text


def test_the_api_client_comes_from_the_origin() -> None:
    assert _api_client({"via": "api", "token_name": "crm"}) == "crm"
    assert _api_client({"via": "slack", "user_id": "U1"}) is None
    assert _api_client({}) is None


def test_a_reminder_dm_names_the_api_client() -> None:
    text = render_direct({"why": "reminder", "channel": "C0APPROVE"}, VIEW)
    assert "from API client `crm`" in text
