"""A revenue report as a Slack message: Block Kit blocks and their fallback text.

Amounts and labels are ours; client names are outside text and are escaped here. Every
mrkdwn object is `verbatim`, so Slack does not auto-link what the escaping leaves as words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.escape import (
    CONTEXT_TEXT_MAX,
    HEADER_TEXT_MAX,
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    escape_mrkdwn,
    plain,
    slack_length,
)
from governance.money import Money
from governance.revenue import CurrencyFigures, RevenueReport

Block = dict[str, Any]

MINUS = "\u2212"  # a real minus sign: `−$100.00` reads as a loss, not as a dash
TITLE = "Revenue — {label}"
EMPTY = (
    "Nothing in the ledger for {label}: no payments, refunds or disputes, "
    "no open invoices and no live subscriptions."
)
CONTEXT = "From the ledger kept from Stripe's events, as of {now}."
CONTEXT_AS_OF = " Outstanding, overdue and MRR are taken at {as_of}."
TOP_CLIENTS = "*Top clients ({currency})*"
MORE_CURRENCIES = "…and {count} more currencies: {codes}."
DATE_FORMAT = "{date_short_pretty} at {time}"
DATE_FALLBACK = "%Y-%m-%d %H:%M UTC"
_CLIENT_MAX = 80
# The header and the context take two blocks; each currency at most three.
_BLOCKS_PER_CURRENCY = 3
_MAX_CURRENCIES = (MAX_BLOCKS - 3) // _BLOCKS_PER_CURRENCY


def amount(money: Money) -> str:
    """`$1,500.00`, or `−$100.00` with a minus sign when negative."""
    if money.minor < 0:
        return MINUS + Money(-money.minor, money.currency).format()
    return money.format()


def signed(money: Money) -> str:
    """A change: `+$250.00`, `−$100.00`, or `$0.00` for none."""
    return "+" + money.format() if money.minor > 0 else amount(money)


def revenue_blocks(report: RevenueReport) -> list[Block]:
    blocks: list[Block] = [_header(report)]
    if report.is_empty:
        text = EMPTY.format(label=escape_mrkdwn(report.period.label, 100))
        blocks.append({"type": "section", "text": _mrkdwn(text)})
    shown = report.currencies[:_MAX_CURRENCIES]
    for index, figures in enumerate(shown):
        if index:
            blocks.append({"type": "divider"})
        blocks.append(_figures_section(report, figures))
        if figures.top_clients:
            blocks.append({"type": "section", "text": _mrkdwn(_top_clients(figures))})
    hidden = report.currencies[_MAX_CURRENCIES:]
    if hidden:
        codes = ", ".join(figures.currency.upper() for figures in hidden)
        text = MORE_CURRENCIES.format(count=len(hidden), codes=codes)
        blocks.append({"type": "section", "text": _mrkdwn(text[:SECTION_TEXT_MAX])})
    blocks.append({"type": "context", "elements": [_mrkdwn(_context(report))]})
    assert len(blocks) <= MAX_BLOCKS
    return blocks


def revenue_text(report: RevenueReport) -> str:
    """The fallback for notifications: the headline figures, no outside text."""
    title = TITLE.format(label=report.period.label)
    if report.is_empty:
        return f"{title}: nothing in the ledger."
    parts = [
        f"{figures.currency.upper()} paid {amount(figures.paid)}, net {amount(figures.net)}, "
        f"outstanding {amount(figures.outstanding)}, MRR {amount(figures.mrr_end)} "
        f"({signed(figures.mrr_change)})"
        for figures in report.currencies
    ]
    return f"{title}: " + "; ".join(parts)


def _header(report: RevenueReport) -> Block:
    text = plain(TITLE.format(label=report.period.label), HEADER_TEXT_MAX)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _figures_section(report: RevenueReport, figures: CurrencyFigures) -> Block:
    paid_note = _count(figures.invoices_paid, "invoice")
    if figures.paid_out_of_band.minor:
        paid_note += f", {amount(figures.paid_out_of_band)} out of band"
    start = report.period.start.astimezone(UTC)
    since = f"since {start.day} {start:%b}"
    change = signed(figures.mrr_change) if figures.mrr_change.minor else "no change"
    fields = [
        ("Paid", amount(figures.paid), paid_note),
        (
            "Outstanding",
            amount(figures.outstanding),
            _count(figures.invoices_outstanding, "open invoice"),
        ),
        ("Overdue", amount(figures.overdue), _count(figures.invoices_overdue, "invoice")),
        ("Refunded", amount(figures.refunded), _count(figures.refunds, "refund")),
        ("Disputed", amount(figures.disputed), _count(figures.disputes, "dispute")),
        ("Net", amount(figures.net), "paid − refunded − disputed"),
        ("MRR", amount(figures.mrr_end), f"{change} {since}"),
    ]
    return {
        "type": "section",
        "text": _mrkdwn(f"*{figures.currency.upper()}*"),
        "fields": [_mrkdwn(f"*{label}*\n{value}\n_{note}_") for label, value, note in fields],
    }


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _top_clients(figures: CurrencyFigures) -> str:
    lines = [TOP_CLIENTS.format(currency=figures.currency.upper())]
    for rank, client in enumerate(figures.top_clients, start=1):
        line = f"{rank}. {escape_mrkdwn(client.label, _CLIENT_MAX)} — {amount(client.paid)}"
        if slack_length("\n".join([*lines, line])) > SECTION_TEXT_MAX:
            break
        lines.append(line)
    return "\n".join(lines)


def _context(report: RevenueReport) -> str:
    text = CONTEXT.format(now=_slack_date(report.generated_at))
    if report.as_of != report.generated_at:
        text += CONTEXT_AS_OF.format(as_of=_slack_date(report.as_of))
    return text[:CONTEXT_TEXT_MAX]


def _slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone; the fallback is for clients that cannot."""
    fallback = moment.astimezone(UTC).strftime(DATE_FALLBACK)
    return f"<!date^{int(moment.timestamp())}^{DATE_FORMAT}|{fallback}>"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
