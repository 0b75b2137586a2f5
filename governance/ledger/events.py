"""Stripe events applied to the ledger, in two phases so no database lock waits on Stripe.

`read_links` runs first, outside any write transaction: it decides what the event cannot
tell alone and asks Stripe (a fresh copy of the object when the event is as old as what
the ledger holds, the invoice behind a payment). `apply` then writes, in the webhook's
transaction, and says what a person should hear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from governance import clients
from governance.ledger import snapshots
from governance.ledger.snapshots import Json, object_id, when
from governance.ports import Customer, PaymentGateway, RejectedError
from storage.models import (
    ActionRequest,
    LedgerDispute,
    LedgerEntry,
    LedgerInvoice,
    LedgerRefund,
    LedgerSubscription,
)
from storage.types import utcnow

LedgerRow = LedgerInvoice | LedgerRefund | LedgerDispute | LedgerSubscription

_KINDS: dict[str, tuple[type[LedgerRow], Any]] = {
    "invoice": (LedgerInvoice, snapshots.invoice_columns),
    "refund": (LedgerRefund, snapshots.refund_columns),
    "dispute": (LedgerDispute, snapshots.dispute_columns),
    "subscription": (LedgerSubscription, snapshots.subscription_columns),
}

# Events about a payment (not kept as a ledger row) that belong in an invoice's history.
_ABOUT_A_PAYMENT = frozenset({"charge.refunded", "payment_intent.payment_failed"})
# Subscription states someone must act on.
_TROUBLED = ("past_due", "unpaid")


def ledger_kind(event_type: str) -> str | None:
    """Which ledger table an event's object belongs in, if any."""
    if event_type.startswith("invoice.") and not event_type.startswith("invoice_payment"):
        return "invoice"
    if event_type.startswith("refund."):
        return "refund"
    if event_type.startswith("charge.dispute."):
        return "dispute"
    if event_type.startswith("customer.subscription."):
        return "subscription"
    return None


@dataclass(frozen=True)
class Links:
    """What was read from Stripe for one event before the write."""

    fresh: Json | None = None  # the object re-read, when the event was in doubt
    invoice: str | None = None  # the invoice behind a payment, refund or dispute
    payment_intent: str | None = None
    charge: str | None = None
    out_of_band: bool = False


@dataclass
class Applied:
    """The outcome of one event: facts for the audit entry, notices for the channel."""

    facts: dict[str, Any] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)


def read_links(session: Session, event: Json, stripe: PaymentGateway) -> Links:
    """Ask Stripe what the event leaves in doubt; `session` is only read."""
    event_type = str(event["type"])
    obj: Json = event["data"]["object"]
    kind = ledger_kind(event_type)
    fresh = None
    if kind is not None:
        model, _ = _KINDS[kind]
        held = session.execute(
            select(model.as_of).where(model.stripe_id == obj["id"])
        ).scalar_one_or_none()
        # Stripe's times are whole seconds: an event as old as the held state may be
        # older or newer than it. Stripe's current copy settles it.
        if held is not None and held == int(event["created"]):
            fresh = stripe.retrieve_raw(kind, str(obj["id"]))
    current = fresh or obj
    if kind == "invoice":
        return _invoice_links(session, current, fresh, stripe)
    if kind not in ("refund", "dispute") and event_type not in _ABOUT_A_PAYMENT:
        return Links(fresh)
    if event_type.startswith("payment_intent."):
        payment_intent: str | None = str(current["id"])
    else:
        payment_intent = object_id(current.get("payment_intent"))
    if payment_intent:
        invoice = _invoice_of(session, payment_intent, stripe)
        return Links(fresh, invoice, payment_intent, object_id(current.get("charge")))
    return Links(fresh)


def _invoice_links(
    session: Session, invoice: Json, fresh: Json | None, stripe: PaymentGateway
) -> Links:
    if invoice.get("status") != "paid" or not invoice.get("amount_paid"):
        return Links(fresh)
    known = session.execute(
        select(
            LedgerInvoice.payment_intent, LedgerInvoice.charge, LedgerInvoice.paid_out_of_band
        ).where(LedgerInvoice.stripe_id == invoice["id"])
    ).one_or_none()
    if known is not None and (known.payment_intent or known.paid_out_of_band):
        return Links(fresh, None, known.payment_intent, known.charge, known.paid_out_of_band)
    try:
        payment = stripe.invoice_payment(str(invoice["id"]))
    except RejectedError:  # paid, and no Stripe payment behind it: paid outside Stripe
        return Links(fresh, out_of_band=True)
    return Links(fresh, None, payment.payment_intent, payment.charge)


def _invoice_of(session: Session, payment_intent: str, stripe: PaymentGateway) -> str | None:
    known = session.execute(
        select(LedgerInvoice.stripe_id).where(LedgerInvoice.payment_intent == payment_intent)
    ).scalar_one_or_none()
    return known or stripe.invoice_of_payment_intent(payment_intent)


def apply(session: Session, event: Json, links: Links) -> Applied:
    event_type = str(event["type"])
    obj: Json = links.fresh or event["data"]["object"]
    created = int(event["created"])
    kind = ledger_kind(event_type)
    row: LedgerRow | None = None
    if kind is not None:
        row = _upsert(session, kind, obj, created, links)
    if event_type in ("customer.created", "customer.updated") and obj.get("email"):
        clients.remember(
            session, Customer(str(obj["id"]), str(obj["email"]), obj.get("name"), None)
        )
    applied = Applied(facts=_facts(event_type, obj, row, links))
    _record_history(session, event, row, links, applied.facts)
    applied.notices = _notices(event, obj, row, links, applied.facts)
    return applied


def _upsert(session: Session, kind: str, obj: Json, created: int, links: Links) -> LedgerRow:
    model, read_columns = _KINDS[kind]
    columns: Json = read_columns(obj)
    if kind == "invoice":
        columns.update(_payment_columns(links))
    elif kind in ("refund", "dispute"):
        columns["invoice"] = links.invoice
    elif kind == "subscription":
        columns["plan"] = _plan_of(session, columns) or columns["plan"]
    row = cast(
        "LedgerRow | None",
        session.execute(
            select(model).where(model.stripe_id == obj["id"]).with_for_update()
        ).scalar_one_or_none(),
    )
    if row is None:
        row = model(stripe_id=str(obj["id"]), as_of=created, updated_at=utcnow(), **columns)
        session.add(row)
        session.flush()
        return row
    if links.fresh is not None or created > row.as_of:
        for name, value in columns.items():
            if value is not None or name not in _KEPT_WHEN_UNKNOWN:
                setattr(row, name, value)
        row.as_of, row.updated_at = max(row.as_of, created), utcnow()
    return row


# Columns learned once that a later snapshot without them must not erase.
_KEPT_WHEN_UNKNOWN = frozenset({"payment_intent", "charge", "invoice", "plan", "action_uid"})


def _payment_columns(links: Links) -> Json:
    columns: Json = {"payment_intent": links.payment_intent, "charge": links.charge}
    if links.out_of_band:
        columns["paid_out_of_band"] = True
    return columns


def _plan_of(session: Session, columns: Json) -> str | None:
    """The plan name a person typed, when the subscription came from one of our requests."""
    if not columns.get("action_uid"):
        return None
    payload = session.execute(
        select(ActionRequest.payload).where(ActionRequest.uid == columns["action_uid"])
    ).scalar_one_or_none()
    return str(payload["plan"]) if payload and payload.get("plan") else None


def _record_history(
    session: Session, event: Json, row: LedgerRow | None, links: Links, facts: Json
) -> None:
    """A line in the history of the invoice (or subscription) the event concerns."""
    subject = _subject(str(event["type"]), row, links)
    if subject is None:
        return
    entry = LedgerEntry(
        object_id=subject,
        event_id=str(event["id"]),
        kind=str(event["type"]),
        happened_at=when(event["created"]) or utcnow(),
        amount=facts.get("amount"),
        currency=facts.get("currency"),
        note=str(facts.get("note") or ""),
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        pass  # the same event told twice about the same object: one line


def _subject(event_type: str, row: LedgerRow | None, links: Links) -> str | None:
    if isinstance(row, LedgerInvoice | LedgerSubscription):
        return row.stripe_id
    if isinstance(row, LedgerRefund | LedgerDispute):
        return row.invoice or row.stripe_id
    return links.invoice if event_type in _ABOUT_A_PAYMENT else None


def _facts(event_type: str, obj: Json, row: LedgerRow | None, links: Links) -> Json:
    """The few fields the audit entry and a notification show."""
    facts: Json = {"action_id": (obj.get("metadata") or {}).get(snapshots.ACTION_KEY)}
    if isinstance(row, LedgerInvoice):
        amount = row.amount_paid if event_type == "invoice.paid" else row.amount_due
        facts.update(
            invoice=row.stripe_id,
            number=row.number,
            customer_email=row.customer_email,
            subscription=row.subscription,
            status=row.status,
            amount=amount,
            amount_due=row.amount_due,
            amount_paid=row.amount_paid,
            currency=row.currency,
            hosted_invoice_url=row.hosted_invoice_url,
            out_of_band=row.paid_out_of_band,
        )
    elif isinstance(row, LedgerRefund | LedgerDispute):
        facts.update(
            invoice=row.invoice,
            amount=row.amount,
            currency=row.currency,
            status=row.status,
            payment_intent=row.payment_intent,
        )
        if isinstance(row, LedgerDispute):
            facts.update(dispute=row.stripe_id, reason=row.reason, note=row.reason or "")
        else:
            facts.update(refund=row.stripe_id)
    elif isinstance(row, LedgerSubscription):
        facts.update(
            subscription=row.stripe_id,
            customer=row.customer,
            status=row.status,
            plan=row.plan,
            amount=row.amount,
            currency=row.currency,
            interval=row.interval,
            cancel_at_period_end=row.cancel_at_period_end,
            current_period_end=_iso(row.current_period_end),
        )
    elif event_type == "charge.refunded":
        facts.update(
            charge=obj.get("id"),
            invoice=links.invoice,
            payment_intent=links.payment_intent,
            amount=obj.get("amount_refunded"),
            amount_refunded=obj.get("amount_refunded"),
            currency=obj.get("currency"),
            customer_email=(obj.get("billing_details") or {}).get("email"),
        )
    elif event_type.startswith("payment_intent."):
        error = obj.get("last_payment_error") or {}
        facts.update(
            payment_intent=obj.get("id"),
            invoice=links.invoice,
            amount=obj.get("amount"),
            currency=obj.get("currency"),
            note=error.get("message") or error.get("code") or "",
        )
    return facts


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _notices(
    event: Json, obj: Json, row: LedgerRow | None, links: Links, facts: Json
) -> list[dict[str, Any]]:
    """What the notify channel should hear about this event; failures and disputes loudly."""
    event_type = str(event["type"])
    loud = False
    if event_type in _ALWAYS_TOLD:
        loud = event_type in _LOUD
    elif event_type == "payment_intent.payment_failed":
        if links.invoice is not None:  # invoice.payment_failed tells that one
            return []
        loud = True
    elif event_type == "customer.subscription.updated":
        previous = event["data"].get("previous_attributes") or {}
        status = facts.get("status")
        if "status" in previous and status in _TROUBLED:
            loud = True
        elif "cancel_at_period_end" not in previous and "status" not in previous:
            return []
    else:
        return []
    return [{"event": event_type, "facts": facts, "loud": loud}]


_ALWAYS_TOLD = frozenset(
    {
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.voided",
        "invoice.marked_uncollectible",
        "invoice.overdue",
        "customer.subscription.created",
        "customer.subscription.deleted",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
    }
)
_LOUD = frozenset({"invoice.payment_failed", "charge.dispute.created"})
