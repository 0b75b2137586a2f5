"""Payment events from Stripe: stored raw first, processed once per event id.

The event has been verified by the caller; here it is recorded (a duplicate delivery is
counted and otherwise ignored), then applied to the ledger (governance.ledger), audited,
and, where a person should know, queued for the notify channel. A failure while
processing (Stripe unreachable for a re-read, say) is kept on the stored event, and the
delivery is answered 500 so that Stripe delivers it again.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from governance.ledger import events as ledger
from governance.ports import PaymentGateway
from storage import outbox
from storage.db import read_only
from storage.models import WebhookEvent
from storage.types import utcnow

log = logging.getLogger(__name__)


class Receipt(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    FAILED = "failed"


def receive(
    sessions: sessionmaker[Session], raw: bytes, event: dict[str, Any], stripe: PaymentGateway
) -> Receipt:
    """Store, then process once: the ledger, an audit entry, and what people should hear."""
    event_id = str(event["id"])
    if not _store(sessions, event_id, str(event["type"]), raw) and _processed(sessions, event_id):
        return Receipt.DUPLICATE
    try:
        with read_only(sessions).begin() as session:
            links = ledger.read_links(session, event, stripe)
        with sessions.begin() as session:
            stored = _lock(session, event_id)
            if stored.processed_at is not None:
                return Receipt.DUPLICATE
            _process(session, event, links)
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


def _processed(sessions: sessionmaker[Session], event_id: str) -> bool:
    with read_only(sessions).begin() as session:
        done = session.execute(
            select(WebhookEvent.processed_at).where(WebhookEvent.event_id == event_id)
        ).scalar_one()
    return done is not None


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


def _process(session: Session, event: dict[str, Any], links: ledger.Links) -> None:
    applied = ledger.apply(session, event, links)
    obj = event.get("data", {}).get("object", {})
    audit.append(
        session,
        "stripe.event",
        "stripe",
        {
            "event_id": event["id"],
            "type": event["type"],
            "object_id": obj.get("id"),
            **applied.facts,
        },
    )
    for notice in applied.notices:
        outbox.enqueue(session, outbox.NOTIFY, notice)
