"""The tamper-evident audit log: an append-only SHA-256 hash chain.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON
(sequence number, time, actor, kind, request and payload), so editing, removing or
reordering any entry breaks every hash after it, and `verify` names the first bad one.

Someone who can write to the database could still rewrite the whole chain, recomputing
every hash after an edit. Checkpoints (`governance.audit_witness`) post the head's hash
outside the database; `verify(..., through=checkpoint)` proves the log still extends it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from governance.canonical import canonical_json, sha256_hex
from storage.models import AuditEntry, AuditHead, table_of
from storage.types import utcnow

GENESIS = "0" * 64
_ENTRIES = table_of(AuditEntry)
# Built once: appending is on the path of every answer to Slack.
_LOCK_HEAD = (
    select(table_of(AuditHead).c.seq, table_of(AuditHead).c.hash)
    .where(table_of(AuditHead).c.id == 1)
    .with_for_update()
)
_INSERT_ENTRIES = insert(_ENTRIES)
_MOVE_HEAD = (
    update(table_of(AuditHead))
    .where(table_of(AuditHead).c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_IN_ORDER = select(
    _ENTRIES.c.seq,
    _ENTRIES.c.created_at,
    _ENTRIES.c.actor,
    _ENTRIES.c.kind,
    _ENTRIES.c.request_id,
    _ENTRIES.c.payload,
    _ENTRIES.c.prev_hash,
    _ENTRIES.c.hash,
).order_by(_ENTRIES.c.seq)


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


@dataclass(frozen=True)
class Link:
    """A place in the chain: an entry's sequence number and hash (0 and GENESIS: empty)."""

    seq: int
    hash: str


def lock_head(session: Session | Connection) -> Link:
    """The head of the chain, locked until the caller's transaction ends."""
    seq, digest = session.execute(_LOCK_HEAD).one()
    return Link(int(seq), str(digest))


def append(
    session: Session | Connection,
    kind: str,
    actor: str,
    payload: dict[str, Any],
    request_id: int | None = None,
) -> Link:
    return append_many(session, [Record(kind, actor, payload, request_id)])


def append_many(session: Session | Connection, records: Sequence[Record]) -> Link:
    """Add entries in the caller's transaction; the new head is returned.

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
    if rows:
        session.execute(_INSERT_ENTRIES, rows)
        session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev_hash})
    return Link(int(seq), str(prev_hash))


class EntryLike(Protocol):
    """An audit entry as a model or as a row of `_IN_ORDER`."""

    @property
    def seq(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def request_id(self) -> int | None: ...
    @property
    def payload(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...


_CHECKPOINT = re.compile(r"#?(\d{1,18})[:\s]\s*([0-9a-fA-F]{64})|([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Checkpoint:
    """A posted state of the chain: an entry's hash, and its sequence number when known."""

    hash: str
    seq: int | None = None

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """`<hash>` (64 hex digits), `<seq>:<hash>` or `#<seq> <hash>`, as posted to Slack."""
        match = _CHECKPOINT.fullmatch(text.strip().strip("`"))
        if match is None:
            raise ValueError(
                f"{text[:80]!r} is not a checkpoint: give the 64 hex digits of the posted "
                "hash, or `<seq>:<hash>`"
            )
        if match.group(3):
            return cls(match.group(3).lower())
        seq = int(match.group(1))
        if seq < 1:
            raise ValueError("a checkpoint's entry number starts at 1")
        return cls(match.group(2).lower(), seq)

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash}" if self.seq is not None else self.hash


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    bad_seq: int | None = None
    reason: str | None = None


REWRITTEN = "the chain was rewritten after the checkpoint was posted"


def verify_entries(
    entries: Iterable[EntryLike], head: AuditHead | Link | None, through: Checkpoint | None = None
) -> Verdict:
    """Walk the chain in sequence order; the first entry that does not fit is named.

    With `through` (a checkpoint whose entry number is known), the entry at that number must
    also carry the checkpoint's hash: a chain rewritten with every hash recomputed verifies
    on its own, but no longer contains what was posted.
    """
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
        if through is not None and entry.seq == through.seq and entry.hash != through.hash:
            return Verdict(
                False, count, entry.seq, f"its hash is not the checkpoint's: {REWRITTEN}"
            )
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    if head is None:
        return Verdict(False, count, count + 1, "the chain's head record is missing")
    if head.seq != count or head.hash != prev_hash:
        return Verdict(False, count, count + 1, "entries after it were removed")
    if through is not None and through.seq is not None and through.seq > count:
        return Verdict(
            False,
            count,
            through.seq,
            f"the checkpoint's entry is gone: the log has {count} entries, so {REWRITTEN}",
        )
    return Verdict(True, count)


def head_of(session: Session | Connection) -> Link | None:
    row = session.execute(
        select(table_of(AuditHead).c.seq, table_of(AuditHead).c.hash).where(
            table_of(AuditHead).c.id == 1
        )
    ).first()
    return Link(int(row.seq), str(row.hash)) if row is not None else None


def entries_in_order(session: Session | Connection, batch: int = 1000) -> Iterator[EntryLike]:
    """Every entry, first to last, fetched `batch` at a time (a server-side cursor on PG)."""
    result = session.execute(_IN_ORDER.execution_options(yield_per=batch))
    yield from result


def locate(session: Session | Connection, checkpoint: Checkpoint) -> Checkpoint | str:
    """The checkpoint with its entry number, or why the log does not hold it."""
    seq = session.execute(
        select(_ENTRIES.c.seq).where(_ENTRIES.c.hash == checkpoint.hash)
    ).scalar_one_or_none()
    if checkpoint.seq is not None:
        if seq is not None and seq != checkpoint.seq:
            return f"this hash is entry {seq}'s, not entry {checkpoint.seq}'s: check the number"
        return checkpoint  # the walk says whether entry `seq` still carries the hash
    if seq is None:
        return (
            "no entry has this hash: the chain was rewritten after the checkpoint was "
            "posted, or the hash is not from this log"
        )
    return Checkpoint(checkpoint.hash, int(seq))


def verify(
    session: Session | Connection, batch: int = 1000, through: Checkpoint | None = None
) -> Verdict:
    """The whole chain, from the genesis to the head (and through `through`, when given)."""
    return verify_to_head(session, batch, through)[0]


def verify_to_head(
    session: Session | Connection, batch: int = 1000, through: Checkpoint | None = None
) -> tuple[Verdict, Link | None]:
    """The verdict, and the head it verified up to.

    Safe while others append: the walk stops at the head read first (entries are only ever
    added with the head moving in the same transaction). An entry past the head that no
    later head covers was not added by `append`, and is named.
    """
    head = head_of(session)
    entries = session.execute(
        _IN_ORDER.where(_ENTRIES.c.seq <= (head.seq if head else 0)).execution_options(
            yield_per=batch
        )
    )
    verdict = verify_entries(entries, head, through)
    if verdict.ok and head is not None:
        last = session.execute(select(func.max(_ENTRIES.c.seq))).scalar_one_or_none()
        now = head_of(session)
        if last is not None and now is not None and last > now.seq:
            return Verdict(False, verdict.entries, now.seq + 1, "it is past the chain's head"), head
    return verdict, head


def export_record(entry: EntryLike) -> dict[str, Any]:
    """One entry as a line of `empire audit export`: everything its hash covers, and more.

    `payload` is the stored canonical JSON parsed back into an object; `canonical_json` of
    it gives the stored text again, which is what the hash covers.
    """
    try:
        payload: Any = json.loads(entry.payload)
    except ValueError:
        payload = entry.payload  # not JSON: not written by `append`, so it will not verify
    return {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "kind": entry.kind,
        "request_id": entry.request_id,
        "payload": payload,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def latest(session: Session | Connection, count: int) -> list[EntryLike]:
    """The last `count` entries, oldest first."""
    rows = session.execute(
        _IN_ORDER.order_by(None).order_by(_ENTRIES.c.seq.desc()).limit(count)
    ).all()
    return list(reversed(rows))
