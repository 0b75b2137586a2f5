"""The revenue message: figures per currency, signs, escaped client names, Block Kit limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.escape import MAX_BLOCKS
from bot.revenue_view import amount, revenue_blocks, revenue_text, signed
from governance.money import Money
from governance.revenue import LedgerRows, RevenueReport, compute_report
from tests.unit.test_revenue import (
    LATER,
    NOVEMBER,
    at,
    dispute,
    invoice,
    refund,
    subscription,
)

ATTACK = "<!channel> @here <@U123> <http://evil.example|click> *bold* & co"


def make_report(*, now: datetime = LATER, labels: dict[str, str] | None = None) -> RevenueReport:
    rows = LedgerRows(
        invoices=[
            invoice(150000, customer="cus_A", paid_at=at(3)),
            invoice(50000, customer="cus_B", paid_at=at(18), out_of_band=True),
            invoice(20000, customer="cus_B", status="open", due_at=at(10)),
            invoice(70000, customer="cus_A", paid_at=at(4), currency="eur"),
        ],
        refunds=[refund(25000, at(13))],
        disputes=[dispute(10000, at(20))],
        subscriptions=[subscription(100000), subscription(25000, started_at=at(10))],
        client_labels=labels or {"cus_A": ATTACK, "cus_B": "Bolt & Sons"},
    )
    return compute_report(rows, NOVEMBER, now)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def fields(blocks: list[dict[str, Any]], currency: str) -> dict[str, str]:
    """The figures section of `currency`: label → the value line."""
    for block in blocks:
        if block.get("text", {}).get("text") == f"*{currency.upper()}*":
            parsed = [field["text"].split("\n") for field in block["fields"]]
            return {label.strip("*"): value for label, value, _ in parsed}
    raise AssertionError(f"no {currency} section")


def test_signs_and_amounts() -> None:
    assert signed(Money(25000, "usd")) == "+$250.00"
    assert signed(Money(-10000, "usd")) == "−$100.00"
    assert signed(Money(0, "usd")) == "$0.00"
    assert signed(Money(-10000, "eur")) == "−100.00 EUR"
    assert amount(Money(-5, "usd")) == "−$0.05"
    assert amount(Money(150000, "usd")) == "$1,500.00"


def test_the_report_shows_every_figure_per_currency() -> None:
    blocks = revenue_blocks(make_report())
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Revenue — November 2026", "emoji": True},
    }
    assert fields(blocks, "usd") == {
        "Paid": "$2,000.00",
        "Outstanding": "$200.00",
        "Overdue": "$200.00",
        "Refunded": "$250.00",
        "Disputed": "$100.00",
        "Net": "$1,650.00",
        "MRR": "$1,250.00",
    }
    assert fields(blocks, "eur")["Paid"] == "700.00 EUR"
    assert fields(blocks, "eur")["MRR"] == "0.00 EUR"
    joined = "\n".join(texts(blocks))
    assert "_+$250.00 since 1 Nov_" in joined
    assert "$500.00 out of band" in joined
    assert "_2 invoices, $500.00 out of band_" in joined
    assert "_1 open invoice_" in joined


def test_a_falling_mrr_shows_a_minus_sign() -> None:
    rows = LedgerRows(subscriptions=[subscription(10000, ended_at=at(12)), subscription(5000)])
    blocks = revenue_blocks(compute_report(rows, NOVEMBER, LATER))
    assert fields(blocks, "usd")["MRR"] == "$50.00"
    assert "_−$100.00 since 1 Nov_" in "\n".join(texts(blocks))


def test_a_negative_net_shows_a_minus_sign() -> None:
    rows = LedgerRows(invoices=[invoice(1000)], refunds=[refund(5000, at(12))])
    blocks = revenue_blocks(compute_report(rows, NOVEMBER, LATER))
    assert fields(blocks, "usd")["Net"] == "−$40.00"


def test_client_names_are_escaped() -> None:
    blocks = revenue_blocks(make_report())
    tops = [text for text in texts(blocks) if text.startswith("*Top clients (USD)*")]
    assert len(tops) == 1
    lines = tops[0].split("\n")
    assert lines[1].startswith("1. &lt;!channel&gt; @\u200bhere &lt;@\u200bU123&gt; &lt;http")
    assert lines[1].endswith(" — $1,500.00")
    assert lines[2] == "2. Bolt &amp; Sons — $500.00"
    raw = json.dumps(blocks)
    for needle in ("<!channel>", "<@U123>", "<http://evil", "Bolt & Sons"):
        assert needle not in raw
    assert all(
        element.get("verbatim") is True
        for block in blocks
        for element in [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        if element.get("type") == "mrkdwn"
    )


def test_a_long_client_name_is_cut() -> None:
    blocks = revenue_blocks(make_report(labels={"cus_A": "A" * 500}))
    (top,) = [text for text in texts(blocks) if text.startswith("*Top clients (USD)*")]
    assert "A" * 79 + "…" in top
    assert "A" * 81 not in top


def test_the_context_says_where_figures_come_from_and_when() -> None:
    past = revenue_blocks(make_report())
    context = past[-1]
    assert context["type"] == "context"
    line = context["elements"][0]["text"]
    assert "ledger" in line
    assert "Stripe" in line
    assert f"<!date^{int(LATER.timestamp())}^" in line
    assert f"<!date^{int(NOVEMBER.end.timestamp())}^" in line  # outstanding/MRR at the end
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    current = revenue_blocks(make_report(now=now))[-1]["elements"][0]["text"]
    assert current.count("<!date^") == 1


def test_an_empty_period_says_so() -> None:
    report = compute_report(LedgerRows(), NOVEMBER, LATER)
    blocks = revenue_blocks(report)
    assert [block["type"] for block in blocks] == ["header", "section", "context"]
    assert blocks[1]["text"]["text"].startswith("Nothing in the ledger for November 2026")
    assert revenue_text(report) == "Revenue — November 2026: nothing in the ledger."


def test_the_fallback_text_has_the_headline_figures_and_no_names() -> None:
    text = revenue_text(make_report())
    assert text == (
        "Revenue — November 2026: "
        "EUR paid 700.00 EUR, net 700.00 EUR, outstanding 0.00 EUR, MRR 0.00 EUR (0.00 EUR); "
        "USD paid $2,000.00, net $1,650.00, outstanding $200.00, MRR $1,250.00 (+$250.00)"
    )


def test_many_currencies_stay_within_block_kit_limits() -> None:
    codes = ["aud", "cad", "chf", "dkk", "eur", "gbp", "hkd", "jpy", "mxn", "nok", "nzd", "pln"]
    codes += ["sek", "sgd", "usd", "zar", "brl", "czk"]
    rows = LedgerRows(
        invoices=[invoice(1000, currency=code, customer=f"cus_{code}") for code in codes]
    )
    report = compute_report(rows, NOVEMBER, LATER)
    blocks = revenue_blocks(report)
    assert len(blocks) <= MAX_BLOCKS
    assert any("more currencies" in text for text in texts(blocks))
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
        if "fields" in block:
            assert len(block["fields"]) <= 10


@pytest.mark.parametrize("now", [LATER, datetime(2026, 11, 20, tzinfo=UTC)])
def test_blocks_are_valid_block_kit(now: datetime) -> None:
    for block in revenue_blocks(make_report(now=now)):
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
