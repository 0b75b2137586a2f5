"""Payment events from Stripe: stored raw first, processed once per event id.

The event has been verified by the caller; here it is recorded (a duplicate delivery is
counted and otherwise ignored), then turned into a notification and an audit entry.
A failure while processing is kept on the stored event and retried on redelivery.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from storage import outbox
from storage.models import WebhookEvent
from storage.types import utcnow

log = logging.getLogger(__name__)

# Events a person should hear about, and how to read their object.
NOTIFIED = ("invoice.paid", "invoice.payment_failed", "charge.refunded")


class Receipt(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    FAILED = "failed"


def receive(sessions: sessionmaker[Session], raw: bytes, event: dict[str, Any]) -> Receipt:
    event_id, event_type = str(event["id"]), str(event["type"])
    if not _store(sessions, event_id, event_type, raw):
        with sessions.begin() as session:
            stored = _lock(session, event_id)
            if stored.processed_at is not None:
                return Receipt.DUPLICATE
    try:
        with sessions.begin() as session:
            stored = _lock(session, event_id)
            if stored.processed_at is not None:
                return Receipt.DUPLICATE
            _process(session, event)
            stored.processed_at, stored.error = utcnow(), None
    except Exception as exc:
        log.exception("Stripe event %s could not be processed", event_id)
        with sessions.begin() as session:
            session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.event_id == event_id)
                .values(error=f"{type(exc).__name__}: {exc}")
            )
        return Receipt.FAILED
    return Receipt.PROCESSED


def _store(sessions: sessionmaker[Session], event_id: str, event_type: str, raw: bytes) -> bool:
    """Keep the delivery as received; False when this event id was stored before."""
    try:
        with sessions.begin() as session:
            session.add(
                WebhookEvent(
                    event_id=event_id,
                    type=event_type,
                    body=raw.decode("utf-8"),
                    received_at=utcnow(),
                )
            )
    except IntegrityError:
        with sessions.begin() as session:
            session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.event_id == event_id)
                .values(deliveries=WebhookEvent.deliveries + 1)
            )
        return False
    return True


def _lock(session: Session, event_id: str) -> WebhookEvent:
    return session.execute(
        select(WebhookEvent).where(WebhookEvent.event_id == event_id).with_for_update()
    ).scalar_one()


def _process(session: Session, event: dict[str, Any]) -> None:
    event_type = str(event["type"])
    obj: dict[str, Any] = event.get("data", {}).get("object", {})
    facts = _facts(event_type, obj)
    audit.append(
        session,
        "stripe.event",
        "stripe",
        {"event_id": event["id"], "type": event_type, "object_id": obj.get("id"), **facts},
    )
    if event_type in NOTIFIED:
        outbox.enqueue(session, outbox.NOTIFY, {"event": event_type, "facts": facts})


def _facts(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """The few fields a notification shows, copied out of the Stripe object."""
    if event_type.startswith("invoice."):
        return {
            "invoice": obj.get("id"),
            "number": obj.get("number"),
            "customer_email": obj.get("customer_email"),
            "amount_due": obj.get("amount_due"),
            "amount_paid": obj.get("amount_paid"),
            "currency": obj.get("currency"),
            "hosted_invoice_url": obj.get("hosted_invoice_url"),
            "action_id": (obj.get("metadata") or {}).get("empire_action_id"),
        }
    if event_type.startswith("charge."):
        return {
            "charge": obj.get("id"),
            "payment_intent": obj.get("payment_intent"),
            "amount": obj.get("amount"),
            "amount_refunded": obj.get("amount_refunded"),
            "currency": obj.get("currency"),
            "customer_email": (obj.get("billing_details") or {}).get("email"),
        }
    return {}
