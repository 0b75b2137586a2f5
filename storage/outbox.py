"""Messages to Slack, written in the transaction of the change they report.

A worker delivers them afterwards; nothing is said that was rolled back, and nothing
committed goes unsaid because a process died before speaking.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxMessage
from storage.types import utcnow

EPHEMERAL = "ephemeral"  # body: response_url, text
NOTIFY = "notify"  # body: event, facts; rendered by bot.notifications for the notify channel
DIRECT = "direct"  # body: user, request_id, why, channel; a DM asking for a decision
CHART = "chart"  # body: period, at, channel, user_id; drawn and uploaded by the Slack worker
# body: request_id, token_id, callback_url, outcome; POSTed, signed, to an API client
CALLBACK = "callback"
SLACK_KINDS = (EPHEMERAL, NOTIFY, DIRECT, CHART)  # what the Slack worker delivers


def enqueue(session: Session, kind: str, body: dict[str, Any]) -> None:
    now = utcnow()
    session.add(OutboxMessage(kind=kind, body=body, created_at=now, next_attempt_at=now))


def reply(
    session: Session, origin: dict[str, Any], text: str, usage_for: str | None = None
) -> None:
    """An ephemeral answer to whoever is behind `origin`, when it has a way back.

    `usage_for` names an action whose usage line goes with the answer (for refusals).
    """
    if origin.get("response_url"):
        body = {"response_url": origin["response_url"], "text": text}
        if usage_for:
            body["usage_for"] = usage_for
        enqueue(session, EPHEMERAL, body)


# A message Slack refused this often (an expired response_url, a channel the bot left) is
# given up on; its last error stays on the row.
MAX_ATTEMPTS = 8


def _due(now: datetime, kinds: Collection[str] | None = None) -> Select[int]:
    query = select(OutboxMessage.id).where(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
    )
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    return query.order_by(OutboxMessage.id)


def has_due(session: Session, kinds: Collection[str] | None = None) -> bool:
    """Whether a message (of one of `kinds`, when given) is due now."""
    return session.execute(_due(utcnow(), kinds).limit(1)).first() is not None


def claim_due(
    session: Session, lease: timedelta, limit: int = 20, kinds: Collection[str] | None = None
) -> list[OutboxMessage]:
    """Messages due now, leased to the caller so that another process skips them."""
    now = utcnow()
    candidates = session.execute(_due(now, kinds).limit(limit)).scalars()
    claimed: list[OutboxMessage] = []
    for message_id in candidates:
        taken = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            )
            .values(lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            message = session.get(OutboxMessage, message_id)
            if message is not None:
                claimed.append(message)
    return claimed


def settle(
    session: Session, message_id: int, attempts: int, error: str | None, backoff: Sequence[int]
) -> None:
    """Record one delivery attempt: sent, or failed and due again after `backoff`'s wait for
    that attempt (its last wait once the attempts outnumber it)."""
    now = utcnow()
    values: dict[str, Any] = {"attempts": attempts + 1, "lease_until": None}
    if error is None:
        values["sent_at"] = now
    else:
        wait = backoff[min(attempts, len(backoff) - 1)]
        values.update(last_error=error, next_attempt_at=now + timedelta(seconds=wait))
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
