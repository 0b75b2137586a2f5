"""Reconciliation findings in words, for the terminal and the notify channel."""

from __future__ import annotations

from typing import Any

from governance.money import KNOWN_CURRENCIES, Money
from governance.reconcile import Finding

WHAT = {
    "invoice": "Invoice created",
    "refund": "Refund made",
    "subscription": "Subscription started",
    "cancellation": "Subscription cancelled",
    "void": "Invoice voided",
    "paid_out_of_band": "Invoice marked paid outside Stripe",
}


def describe(facts: dict[str, Any]) -> str:
    """One plain line: what, which object, how much, whose, when; no Slack markup."""
    what = WHAT.get(str(facts.get("kind")), str(facts.get("kind")))
    parts = [f"{what} without an approved request: {facts.get('object_id')}"]
    amount, currency = facts.get("amount"), str(facts.get("currency") or "")
    if isinstance(amount, int) and currency in KNOWN_CURRENCIES:
        parts.append(Money(amount, currency).format())
    if facts.get("customer"):
        parts.append(f"customer {facts['customer']}")
    if facts.get("at"):
        parts.append(f"at {str(facts['at'])[:16].replace('T', ' ')} UTC")
    return " · ".join(parts)


def describe_finding(finding: Finding) -> str:
    return describe(finding.as_json())
