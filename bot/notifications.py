"""Queued messages rendered at delivery: notifications from Stripe facts, ephemeral replies."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.escape import escape_mrkdwn
from bot.grammar import usage_of_action
from governance.money import KNOWN_CURRENCIES, Money


def render_reply(body: dict[str, Any]) -> str:
    """An ephemeral answer: the core's words, escaped, and the usage line where one fits."""
    text = escape_mrkdwn(str(body.get("text", "")))
    usage = usage_of_action(str(body.get("usage_for")))
    return f"{text}\n{usage}" if usage else text


def render(body: dict[str, Any]) -> str:
    event, facts = str(body.get("event", "")), dict(body.get("facts", {}))
    client = _client(facts.get("customer_email"))
    if event == "invoice.paid":
        text = messages.NOTIFY_INVOICE_PAID.format(
            invoice=_invoice(facts), amount=_amount(facts.get("amount_paid"), facts), client=client
        )
        if facts.get("hosted_invoice_url"):
            text += " · " + messages.NOTIFY_LINK.format(
                url=escape_mrkdwn(facts["hosted_invoice_url"])
            )
        return text
    if event == "invoice.payment_failed":
        return messages.NOTIFY_PAYMENT_FAILED.format(
            invoice=_invoice(facts), amount=_amount(facts.get("amount_due"), facts), client=client
        )
    if event == "charge.refunded":
        return messages.NOTIFY_CHARGE_REFUNDED.format(
            amount=_amount(facts.get("amount_refunded"), facts),
            charge=escape_mrkdwn(str(facts.get("charge"))),
            client=client,
        )
    return escape_mrkdwn(str(body.get("text", event)))


def _invoice(facts: dict[str, Any]) -> str:
    invoice = escape_mrkdwn(str(facts.get("invoice")))
    number = facts.get("number")
    return f"{invoice} ({escape_mrkdwn(str(number))})" if number else invoice


def _amount(minor: Any, facts: dict[str, Any]) -> str:
    currency = str(facts.get("currency") or "").lower()
    if not isinstance(minor, int) or currency not in KNOWN_CURRENCIES:
        return "an unknown amount"
    return Money(minor, currency).format()


def _client(email: Any) -> str:
    return messages.NOTIFY_CLIENT.format(email=escape_mrkdwn(str(email))) if email else ""
