"""Checkpoints: the audit chain's head, posted to Slack as a witness outside the database.

Whoever can write to the database could rewrite the chain and recompute every hash; they
cannot unpost a Slack message. `empire audit verify --checkpoint <hash>` then proves that
the log still extends what was posted.

A checkpoint is itself an audit entry (`audit.checkpoint`), and the hash posted is that
entry's: the posted head covers the checkpoint too, and while nothing else is appended the
head stays the last checkpoint, so no new one is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from storage import outbox
from storage.models import AuditCheckpoint

JOB = "audit-checkpoint"
KIND = "audit.checkpoint"
EVENT = "audit.checkpoint"  # the notification's event, rendered by bot.notifications
ACTOR = "empire"
DEFAULT_EVERY = timedelta(hours=6)


def last_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).scalar_one_or_none()


def take(session: Session, now: datetime) -> AuditCheckpoint | None:
    """Record, audit and queue for the notify channel a checkpoint of the head, in the
    caller's transaction; None when nothing was appended since the last one (or ever).

    The head is locked first, so two takers (the job in two processes, the command) decide
    in turn, the second one seeing the first one's checkpoint.
    """
    head = audit.lock_head(session)
    last = last_checkpoint(session)
    if head.seq == 0 or (last is not None and last.seq == head.seq):
        return None
    previous = {"seq": last.seq, "hash": last.hash} if last is not None else None
    link = audit.append(session, KIND, ACTOR, {"entries_before": head.seq, "previous": previous})
    checkpoint = AuditCheckpoint(seq=link.seq, hash=link.hash, created_at=now)
    session.add(checkpoint)
    outbox.enqueue(
        session,
        outbox.NOTIFY,
        {"event": EVENT, "facts": {"entries": link.seq, "seq": link.seq, "hash": link.hash}},
    )
    return checkpoint


def take_checkpoint(
    sessions: sessionmaker[Session], clock: Callable[[], datetime]
) -> dict[str, Any]:
    """`take` in a transaction of its own; the job's result (what `ScheduledJob` keeps)."""
    with sessions.begin() as session:
        checkpoint = take(session, clock())
        if checkpoint is None:
            return {"skipped": True}
        return {"seq": checkpoint.seq, "hash": checkpoint.hash}


def every(interval: timedelta) -> Callable[[datetime], datetime]:
    """The schedule of the job: `interval` after each run (and after the first start)."""

    def following(now: datetime) -> datetime:
        return now + interval

    return following


def describe(seq: int, digest: str) -> str:
    """A checkpoint as the command line prints it; Slack's words are in bot.messages."""
    return f"Audit checkpoint: {seq:,} entries, head #{seq} {digest}"
