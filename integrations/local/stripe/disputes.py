"""Disputes: a cardholder contests a charge, and the bank later decides it."""

from __future__ import annotations

import copy

from integrations.local.stripe import catalog_objects as build
from integrations.local.stripe import failures as fail
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

REASONS = frozenset(
    {
        "bank_cannot_process",
        "check_returned",
        "credit_not_processed",
        "customer_initiated",
        "debit_not_authorized",
        "duplicate",
        "fraudulent",
        "general",
        "incorrect_account_details",
        "insufficient_funds",
        "noncompliant",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "unrecognized",
    }
)


def open_dispute(
    state: StripeState, charge_id: str, amount: int | None, reason: str
) -> StripeObject:
    charge = state.get("charge", charge_id, param="charge")
    if reason not in REASONS:
        raise ValueError(f"not one of Stripe's dispute reasons: {reason}")
    if charge["status"] != "succeeded":
        raise fail.refused(f"Charge {charge_id} did not succeed; there is nothing to dispute.")
    if charge["disputed"]:
        raise fail.refused(f"Charge {charge_id} is already disputed.")
    amount = charge["amount"] if amount is None else amount
    if not 0 < amount <= charge["amount"]:
        raise ValueError(f"a dispute of {amount} on a charge of {charge['amount']}")
    dispute = state.add(build.dispute(state.now(), charge, amount, reason))
    charge["disputed"] = True
    state.emit("charge.dispute.created", dispute)
    state.emit("charge.dispute.funds_withdrawn", dispute)
    return dispute


def close_dispute(state: StripeState, dispute_id: str, *, won: bool) -> StripeObject:
    dispute = state.get("dispute", dispute_id)
    if dispute["status"] in ("won", "lost"):
        raise fail.refused(f"Dispute {dispute_id} is already closed ({dispute['status']}).")
    before = copy.deepcopy(dispute)
    dispute["status"] = "won" if won else "lost"
    state.emit("charge.dispute.closed", dispute, before=before)
    if won:
        state.emit("charge.dispute.funds_reinstated", dispute)
    return dispute
