"""Reads of the ledger for people: an invoice's status and history, MRR now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from governance import revenue
from governance.money import Money
from storage.models import (
    ActionRequest,
    LedgerDispute,
    LedgerEntry,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
)

# Refunds that have left, or are leaving, the account.
COUNTED_REFUNDS = ("succeeded", "pending")


_LIFE_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        (
            "invoice.created",
            "invoice.updated",
            "invoice.finalized",
            "invoice.sent",
            "invoice.payment_failed",
            "payment_intent.payment_failed",
            "invoice.payment_succeeded",
            "invoice.paid",
            "invoice.overdue",
            "invoice.voided",
            "invoice.marked_uncollectible",
            "refund.created",
            "charge.refunded",
            "refund.updated",
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.closed",
        )
    )
}


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str
    amount: Money | None
    note: str


@dataclass(frozen=True)
class RelatedRequest:
    id: int
    action: str
    state: str


@dataclass(frozen=True)
class InvoiceStatus:
    invoice: LedgerInvoice
    refunded: Money
    disputed: Money
    history: list[HistoryLine]
    requests: list[RelatedRequest]


def invoice_status(session: Session, invoice_id: str) -> InvoiceStatus | None:
    invoice = session.execute(
        select(LedgerInvoice).where(LedgerInvoice.stripe_id == invoice_id)
    ).scalar_one_or_none()
    if invoice is None:
        return None
    refunded = sum(
        session.execute(
            select(LedgerRefund.amount).where(
                LedgerRefund.invoice == invoice_id, LedgerRefund.status.in_(COUNTED_REFUNDS)
            )
        ).scalars()
    )
    disputed = sum(
        session.execute(
            select(LedgerDispute.amount).where(
                LedgerDispute.invoice == invoice_id, LedgerDispute.status != "won"
            )
        ).scalars()
    )
    entries = sorted(
        session.execute(
            select(LedgerEntry).where(LedgerEntry.object_id == invoice_id).order_by(LedgerEntry.id)
        ).scalars(),
        # Stripe's times are whole seconds: within one, the order of an invoice's life.
        key=lambda entry: (entry.happened_at, _LIFE_ORDER.get(entry.kind, len(_LIFE_ORDER))),
    )
    history = [
        HistoryLine(
            entry.happened_at,
            entry.kind,
            Money(entry.amount, entry.currency) if entry.amount and entry.currency else None,
            entry.note,
        )
        for entry in entries
    ]
    return InvoiceStatus(
        invoice,
        Money(refunded, invoice.currency),
        Money(disputed, invoice.currency),
        history,
        _requests_about(session, invoice),
    )


def _requests_about(session: Session, invoice: LedgerInvoice) -> list[RelatedRequest]:
    """The request that made the invoice, and those that named it (refunds, payments)."""
    conditions = [ActionRequest.payload["invoice_id"].as_string() == invoice.stripe_id]
    if invoice.action_uid:
        conditions.append(ActionRequest.uid == invoice.action_uid)
    rows = session.execute(
        select(ActionRequest.id, ActionRequest.action, ActionRequest.state)
        .where(or_(*conditions))
        .order_by(ActionRequest.id)
    ).all()
    return [RelatedRequest(row.id, row.action, row.state) for row in rows]


def mrr_at(session: Session, moment: datetime) -> dict[str, Money]:
    """Monthly recurring revenue per currency of the subscriptions live at `moment`."""
    rows = session.execute(
        select(LedgerSubscription).where(LedgerSubscription.started_at <= moment)
    ).scalars()
    return {
        currency: Money(minor, currency) for currency, minor in revenue.mrr_at(rows, moment).items()
    }
