"""What `/empire` answers, and how queued replies and notifications read."""

from __future__ import annotations

from bot.answers import submitted
from bot.notifications import render, render_reply
from governance.requests import State
from governance.service import Submitted


def test_a_request_waiting_for_approval_names_its_number_and_the_channel() -> None:
    text = submitted(
        Submitted(12, State.PENDING, 2, "2 approvals from finance"), "payments.refund", "C0APP"
    )
    assert "#12" in text
    assert "2 approvals from finance" in text
    assert "<#C0APP>" in text


def test_a_refusal_carries_the_usage_line_and_escapes_the_reason() -> None:
    text = submitted(
        Submitted(7, State.REJECTED, 0, "", "nobody <!channel> may approve"),
        "payments.invoice",
        "C0APP",
    )
    assert "#7" in text
    assert "&lt;!channel&gt;" in text
    assert "Usage: `/empire invoice" in text


def test_a_request_being_checked_says_so() -> None:
    assert "checking" in submitted(Submitted(3, State.RECEIVED, 0, ""), "payments.refund", "C")


def test_a_queued_refusal_reads_with_its_usage_line() -> None:
    text = render_reply(
        {"text": "Request #4 was refused: No such invoice <x>", "usage_for": "payments.refund"}
    )
    assert text.startswith("Request #4 was refused: No such invoice &lt;x&gt;")
    assert "Usage: `/empire refund" in text.splitlines()[-1]


def test_a_paid_invoice_notification_shows_amount_number_and_client() -> None:
    text = render(
        {
            "event": "invoice.paid",
            "facts": {
                "invoice": "in_1",
                "number": "INV-7",
                "amount_paid": 150000,
                "currency": "usd",
                "customer_email": "<@U0BOSS>@example.com",
                "hosted_invoice_url": "https://invoice.example/in_1",
            },
        }
    )
    assert "in_1 (INV-7)" in text
    assert "$1,500.00" in text
    assert "<@U0BOSS>" not in text
    assert "<https://invoice.example/in_1|Hosted invoice>" in text


def test_a_notification_with_an_unknown_currency_says_so_rather_than_failing() -> None:
    text = render({"event": "charge.refunded", "facts": {"charge": "ch_1", "amount_refunded": 5}})
    assert "an unknown amount" in text
