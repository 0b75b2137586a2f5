"""The tamper-evident audit log: an append-only SHA-256 hash chain.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON
(sequence number, time, actor, kind, request and payload), so editing, removing or
reordering any entry breaks every hash after it, and `verify` names the first bad one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from governance.canonical import canonical_json, sha256_hex
from storage.models import AuditEntry, AuditHead, table_of
from storage.types import utcnow

GENESIS = "0" * 64
# Built once: appending is on the path of every answer to Slack.
_LOCK_HEAD = (
    select(table_of(AuditHead).c.seq, table_of(AuditHead).c.hash)
    .where(table_of(AuditHead).c.id == 1)
    .with_for_update()
)
_INSERT_ENTRIES = insert(table_of(AuditEntry))
_MOVE_HEAD = (
    update(table_of(AuditHead))
    .where(table_of(AuditHead).c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def entry_hash(
    prev_hash: str,
    seq: int,
    created_at: datetime,
    actor: str,
    kind: str,
    request_id: int | None,
    payload: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": created_at.isoformat(timespec="microseconds"),
            "actor": actor,
            "kind": kind,
            "request": request_id,
            "payload": payload,
        }
    )
    return sha256_hex(prev_hash + body)


@dataclass(frozen=True)
class Record:
    """An entry to append: what happened, who did it, the details, which request."""

    kind: str
    actor: str
    payload: dict[str, Any]
    request_id: int | None = None


def append(
    session: Session | Connection,
    kind: str,
    actor: str,
    payload: dict[str, Any],
    request_id: int | None = None,
) -> None:
    append_many(session, [Record(kind, actor, payload, request_id)])


def append_many(session: Session | Connection, records: Sequence[Record]) -> None:
    """Add entries in the caller's transaction.

    The head row is locked once per call: concurrent transactions append in turn, and the
    lock is held only from here to their commit, so callers append last.
    """
    seq, prev_hash = session.execute(_LOCK_HEAD).one()
    created_at = utcnow()
    rows = []
    for record in records:
        seq += 1
        text = canonical_json(record.payload)
        digest = entry_hash(
            prev_hash, seq, created_at, record.actor, record.kind, record.request_id, text
        )
        rows.append(
            {
                "seq": seq,
                "created_at": created_at,
                "actor": record.actor,
                "kind": record.kind,
                "request_id": record.request_id,
                "payload": text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    session.execute(_INSERT_ENTRIES, rows)
    session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev_hash})


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    bad_seq: int | None = None
    reason: str | None = None


def verify_entries(entries: Iterable[AuditEntry], head: AuditHead | None) -> Verdict:
    """Walk the chain in sequence order; the first entry that does not fit is named."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verdict(False, count, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return Verdict(False, count, entry.seq, "does not follow the entry before it")
        recomputed = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.created_at,
            entry.actor,
            entry.kind,
            entry.request_id,
            entry.payload,
        )
        if recomputed != entry.hash:
            return Verdict(False, count, entry.seq, "its content does not match its hash")
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    if head is None:
        return Verdict(False, count, count + 1, "the chain's head record is missing")
    if head.seq != count or head.hash != prev_hash:
        return Verdict(False, count, count + 1, "entries after it were removed")
    return Verdict(True, count)


def verify(session: Session, batch: int = 1000) -> Verdict:
    head = session.get(AuditHead, 1)
    entries = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    return verify_entries(entries, head)
