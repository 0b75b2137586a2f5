"""Reconciliation: everything that moved in Stripe must trace back to an approved request.

Invoices, refunds and subscriptions created in Stripe, and subscription cancellations,
are matched against the requests people approved (by `metadata.empire_action_id`, or by
the object a request named). Invoices voided, or paid outside Stripe, are matched from the
ledger. Whatever matches nothing (made in the Stripe dashboard, say) is a finding: posted
to the notify channel and audited once, and listed by `empire reconcile` each time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit, clients
from governance.ports import PaymentGateway, Refund
from governance.requests import State
from storage import outbox
from storage.models import ActionRequest, LedgerInvoice, ReconciliationFinding
from storage.types import utcnow

# A request in one of these states was approved by the people the policy named.
APPROVED_STATES = (State.APPROVED, State.EXECUTING, State.SUCCEEDED, State.FAILED)
_LIVE = ("active", "trialing", "past_due", "unpaid", "paused")


@dataclass(frozen=True)
class Finding:
    kind: str  # invoice | refund | subscription | cancellation | void | paid_out_of_band
    object_id: str
    amount: int | None
    currency: str | None
    customer: str | None
    at: datetime | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.object_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "object_id": self.object_id,
            "amount": self.amount,
            "currency": self.currency,
            "customer": self.customer,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass(frozen=True)
class Reconciliation:
    since: datetime
    checked: int  # Stripe objects looked at
    findings: list[Finding]  # all in the window
    new: list[Finding]  # not reported before; posted now


@dataclass(frozen=True)
class _Approved:
    uids: frozenset[str]
    subscriptions: frozenset[str]  # created by an approved request
    cancelled: frozenset[str]  # subscriptions an approved request cancelled
    paid: frozenset[str]  # invoices an approved request paid


def reconcile(
    sessions: sessionmaker[Session], stripe: PaymentGateway, *, since: datetime
) -> Reconciliation:
    # Stripe first, then one short write: no database lock waits on the network.
    invoices = stripe.invoices_created_since(since)
    refunds = stripe.refunds_created_since(since)
    subscriptions = stripe.list_subscriptions()
    customers = stripe.list_customers()
    with sessions.begin() as session:
        clients.sync_from_stripe(session, customers)
        approved = _approved(session)
        approved_subs = approved.subscriptions | {
            s.id for s in subscriptions if s.metadata.get("empire_action_id") in approved.uids
        }
        # A subscription started without approval is one finding; its invoices are part of it.
        unapproved_subs = {
            s.id
            for s in subscriptions
            if s.created and s.created >= since and s.id not in approved_subs
        }
        covered = approved_subs | unapproved_subs
        findings = [
            Finding(
                "invoice", i.id, i.amount_due.minor, i.amount_due.currency, i.customer, i.created
            )
            for i in invoices
            if i.metadata.get("empire_action_id") not in approved.uids
            and i.subscription not in covered
        ]
        unapproved_refunds = [
            r for r in refunds if r.metadata.get("empire_action_id") not in approved.uids
        ]
        customers_of = _refund_customers(session, unapproved_refunds)
        findings += [
            Finding(
                "refund",
                r.id,
                r.amount.minor,
                r.amount.currency,
                customers_of.get(r.payment_intent),
                r.created,
            )
            for r in unapproved_refunds
        ]
        for sub in subscriptions:
            if sub.id in unapproved_subs:
                findings.append(_of_subscription("subscription", sub.id, sub, sub.created))
            ending = sub.cancel_at_period_end or sub.status not in _LIVE
            changed = sub.canceled_at is not None and sub.canceled_at >= since
            if ending and changed and sub.id not in approved.cancelled:
                findings.append(_of_subscription("cancellation", sub.id, sub, sub.canceled_at))
        findings += _from_ledger(session, since, approved)
        new = _record_new(session, findings)
    return Reconciliation(since, len(invoices) + len(refunds) + len(subscriptions), findings, new)


def _of_subscription(kind: str, sub_id: str, sub: Any, at: datetime | None) -> Finding:
    return Finding(kind, sub_id, sub.amount.minor, sub.amount.currency, sub.customer, at)


def _refund_customers(session: Session, refunds: list[Refund]) -> dict[str, str]:
    """The customer behind each refund's payment intent, from the ledger's invoices
    (Stripe's refund does not name the customer)."""
    intents = {r.payment_intent for r in refunds if r.payment_intent}
    if not intents:
        return {}
    rows = session.execute(
        select(LedgerInvoice.payment_intent, LedgerInvoice.customer).where(
            LedgerInvoice.payment_intent.in_(intents), LedgerInvoice.customer.is_not(None)
        )
    ).all()
    return {str(row.payment_intent): str(row.customer) for row in rows}


def _approved(session: Session) -> _Approved:
    rows = session.execute(
        select(
            ActionRequest.uid, ActionRequest.action, ActionRequest.payload, ActionRequest.result
        ).where(ActionRequest.state.in_([s.value for s in APPROVED_STATES]))
    ).all()
    subscriptions, cancelled, paid = set(), set(), set()
    for row in rows:
        if row.action == "payments.subscription" and row.result.get("object_id"):
            subscriptions.add(str(row.result["object_id"]))
        elif row.action == "payments.cancel_subscription":
            cancelled.add(str(row.payload["subscription_id"]))
        elif row.action == "payments.pay":
            paid.add(str(row.payload["invoice_id"]))
    return _Approved(
        frozenset(row.uid for row in rows),
        frozenset(subscriptions),
        frozenset(cancelled),
        frozenset(paid),
    )


def _from_ledger(session: Session, since: datetime, approved: _Approved) -> list[Finding]:
    """Invoice changes Stripe's lists do not show by date: voids, payments outside Stripe."""
    voided = session.execute(
        select(LedgerInvoice).where(LedgerInvoice.voided_at >= since)
    ).scalars()
    out_of_band = session.execute(
        select(LedgerInvoice).where(
            LedgerInvoice.paid_out_of_band.is_(True), LedgerInvoice.paid_at >= since
        )
    ).scalars()
    findings = [
        Finding("void", i.stripe_id, i.amount_due, i.currency, i.customer, i.voided_at)
        for i in voided
    ]
    findings += [
        Finding("paid_out_of_band", i.stripe_id, i.amount_paid, i.currency, i.customer, i.paid_at)
        for i in out_of_band
        if i.stripe_id not in approved.paid
    ]
    return findings


def _record_new(session: Session, findings: list[Finding]) -> list[Finding]:
    keys = [finding.key for finding in findings]
    known = (
        set(
            session.execute(
                select(ReconciliationFinding.key).where(ReconciliationFinding.key.in_(keys))
            ).scalars()
        )
        if keys
        else set()
    )
    new = [finding for finding in findings if finding.key not in known]
    for finding in new:
        session.add(
            ReconciliationFinding(
                key=finding.key,
                kind=finding.kind,
                object_id=finding.object_id,
                detail=finding.as_json(),
                found_at=utcnow(),
            )
        )
        audit.append(session, "reconcile.unapproved", "empire", finding.as_json())
        outbox.enqueue(
            session,
            outbox.NOTIFY,
            {"event": "reconcile.unapproved", "facts": finding.as_json(), "loud": True},
        )
    return new
