"""Checkpoints on real databases: taken once per change, and `verify` through one.

A chain rewritten after a checkpoint — one entry edited, every later hash recomputed — still
verifies on its own; only the posted hash shows it is no longer the same log.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from governance import audit, audit_witness
from governance.executor import process_owner
from governance.schedule import Job
from storage.models import AuditCheckpoint, AuditEntry, AuditHead, OutboxMessage
from tests.audit_tamper import unguarded

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fill(sessions: sessionmaker[Session], count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        with sessions.begin() as session:
            audit.append(session, "test.entry", "U0TEST", {"n": number, "text": "ünïcode"}, 7)


def take(sessions: sessionmaker[Session]) -> AuditCheckpoint | None:
    with sessions.begin() as session:
        return audit_witness.take(session, T0)


def posted(sessions: sessionmaker[Session]) -> list[dict[str, object]]:
    with sessions() as session:
        bodies = session.execute(
            select(OutboxMessage.body)
            .where(OutboxMessage.kind == "notify")
            .order_by(OutboxMessage.id)
        ).scalars()
        return [body for body in bodies if body.get("event") == audit_witness.EVENT]


def checkpoints(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        rows = session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.hash)).all()
        return [(seq, digest) for seq, digest in rows]


def head(sessions: sessionmaker[Session]) -> audit.Link:
    with sessions() as session:
        found = audit.head_of(session)
    assert found is not None
    return found


def verdict(sessions: sessionmaker[Session], through: audit.Checkpoint) -> audit.Verdict | str:
    with sessions() as session:
        located = audit.locate(session, through)
        if isinstance(located, str):
            return located
        return audit.verify(session, through=located)


def rewrite(sessions: sessionmaker[Session], seq: int, actor: str) -> None:
    """Edit one entry and recompute every hash from it on, and the head: a careful forger."""
    with sessions.begin() as session, unguarded(session):
        entries = (
            session.execute(
                select(AuditEntry).where(AuditEntry.seq >= seq).order_by(AuditEntry.seq)
            )
            .scalars()
            .all()
        )
        prev_hash = entries[0].prev_hash
        for entry in entries:
            if entry.seq == seq:
                entry.actor = actor
            entry.prev_hash = prev_hash
            entry.hash = audit.entry_hash(
                prev_hash,
                entry.seq,
                entry.created_at,
                entry.actor,
                entry.kind,
                entry.request_id,
                entry.payload,
            )
            prev_hash = entry.hash
            session.flush()
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev_hash))


# -- taking checkpoints ----------------------------------------------------------------


def test_a_checkpoint_is_recorded_audited_and_posted_once_per_change(
    sessions: sessionmaker[Session],
) -> None:
    fill(sessions, 3)
    first = take(sessions)
    assert first is not None
    # The checkpoint is itself entry 4, and the posted head is that entry.
    assert (first.seq, first.hash) == (head(sessions).seq, head(sessions).hash) == (4, first.hash)
    with sessions() as session:
        entry = session.get(AuditEntry, 4)
    assert entry is not None
    assert (entry.kind, entry.actor, entry.hash) == ("audit.checkpoint", "empire", first.hash)
    assert '"entries_before":3' in entry.payload
    assert '"previous":null' in entry.payload
    assert posted(sessions) == [
        {
            "event": "audit.checkpoint",
            "facts": {"entries": 4, "seq": 4, "hash": first.hash},
        }
    ]

    assert take(sessions) is None  # nothing new: its own entry does not count
    assert take(sessions) is None
    assert len(posted(sessions)) == 1

    fill(sessions, 2, start=3)
    second = take(sessions)
    assert second is not None
    assert second.seq == 7
    with sessions() as session:
        entry = session.get(AuditEntry, 7)
    assert entry is not None
    assert f'"previous":{{"hash":"{first.hash}","seq":4}}' in entry.payload
    assert checkpoints(sessions) == [(4, first.hash), (7, second.hash)]
    assert len(posted(sessions)) == 2
    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 7)


def test_an_empty_log_gets_no_checkpoint(sessions: sessionmaker[Session]) -> None:
    assert take(sessions) is None
    assert checkpoints(sessions) == []
    assert posted(sessions) == []


def test_concurrent_takers_take_one_checkpoint(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    barrier = threading.Barrier(4)
    taken: list[AuditCheckpoint | None] = []

    def taker() -> None:
        barrier.wait()
        taken.append(take(sessions))

    threads = [threading.Thread(target=taker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len([one for one in taken if one is not None]) == 1
    assert len(posted(sessions)) == 1
    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 6)


def test_the_job_runs_on_schedule_in_one_process_and_skips_when_nothing_changed(
    sessions: sessionmaker[Session],
) -> None:
    now = [T0]
    jobs = [
        Job(
            sessions,
            audit_witness.JOB,
            lambda _last: audit_witness.take_checkpoint(sessions, lambda: now[0]),
            audit_witness.every(timedelta(hours=6)),
            f"{process_owner()}-{number}",
            clock=lambda: now[0],
        )
        for number in range(2)
    ]
    fill(sessions, 2)
    assert sum(job.run_if_due() for job in jobs) == 0  # first due 6 hours after the start
    now[0] = T0 + timedelta(hours=6)
    assert sum(job.run_if_due() for job in jobs) == 1
    assert checkpoints(sessions) == [(3, head(sessions).hash)]
    now[0] = T0 + timedelta(hours=12)
    assert sum(job.run_if_due() for job in jobs) == 1  # ran, and found nothing new
    assert len(checkpoints(sessions)) == 1
    assert len(posted(sessions)) == 1
    fill(sessions, 1, start=2)
    now[0] = T0 + timedelta(hours=18)
    assert sum(job.run_if_due() for job in jobs) == 1
    assert [seq for seq, _ in checkpoints(sessions)] == [3, 5]
    assert len(posted(sessions)) == 2


# -- verify through a checkpoint -------------------------------------------------------


@pytest.mark.parametrize("with_seq", [False, True])
def test_an_intact_log_extends_every_checkpoint(
    sessions: sessionmaker[Session], with_seq: bool
) -> None:
    fill(sessions, 3)
    first = take(sessions)
    fill(sessions, 4, start=3)
    second = take(sessions)
    fill(sessions, 2, start=7)
    assert first is not None
    assert second is not None
    for checkpoint in (first, second):
        through = audit.Checkpoint(checkpoint.hash, checkpoint.seq if with_seq else None)
        assert verdict(sessions, through) == audit.Verdict(True, 11)
    # a plain entry's hash is a checkpoint as good as any
    with sessions() as session:
        third = session.get(AuditEntry, 2)
    assert third is not None
    assert verdict(sessions, audit.Checkpoint(third.hash)) == audit.Verdict(True, 11)


def test_a_rewritten_chain_verifies_alone_but_not_through_the_checkpoint(
    sessions: sessionmaker[Session],
) -> None:
    fill(sessions, 5)
    checkpoint = take(sessions)
    assert checkpoint is not None
    fill(sessions, 2, start=5)
    rewrite(sessions, 3, "U0FORGER")

    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 8)  # every hash recomputed

    alone = verdict(sessions, audit.Checkpoint(checkpoint.hash))
    assert isinstance(alone, str)
    assert alone.startswith("no entry has this hash: the chain was rewritten")

    numbered = verdict(sessions, audit.Checkpoint(checkpoint.hash, checkpoint.seq))
    assert isinstance(numbered, audit.Verdict)
    assert (numbered.ok, numbered.bad_seq) == (False, 6)
    assert numbered.reason == (
        "its hash is not the checkpoint's: the chain was rewritten after the checkpoint was posted"
    )


def test_a_checkpoint_before_the_rewrite_still_holds(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 2)
    checkpoint = take(sessions)
    assert checkpoint is not None
    fill(sessions, 3, start=2)
    rewrite(sessions, 5, "U0FORGER")
    assert verdict(sessions, audit.Checkpoint(checkpoint.hash)) == audit.Verdict(True, 6)


def test_an_unknown_hash_is_refused(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 3)
    unknown = audit.Checkpoint("ab" * 32)
    outcome = verdict(sessions, unknown)
    assert isinstance(outcome, str)
    assert "no entry has this hash" in outcome
    numbered = verdict(sessions, audit.Checkpoint("ab" * 32, 2))
    assert isinstance(numbered, audit.Verdict)
    assert (numbered.ok, numbered.bad_seq) == (False, 2)


def test_a_log_cut_back_below_the_checkpoint_fails(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 4)
    checkpoint = take(sessions)
    assert checkpoint is not None
    with sessions.begin() as session, unguarded(session):
        session.execute(delete(AuditEntry).where(AuditEntry.seq > 3))
        last = session.get(AuditEntry, 3)
        assert last is not None
        session.execute(update(AuditHead).values(seq=3, hash=last.hash))
    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 3)  # consistent on its own
    outcome = verdict(sessions, audit.Checkpoint(checkpoint.hash, checkpoint.seq))
    assert isinstance(outcome, audit.Verdict)
    assert (outcome.ok, outcome.bad_seq) == (False, 5)
    assert outcome.reason is not None
    assert "the checkpoint's entry is gone: the log has 3 entries" in outcome.reason


def test_an_entry_slipped_in_past_the_head_is_named(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 3)
    with sessions.begin() as session:
        second = session.get(AuditEntry, 2)
        assert second is not None
        session.execute(update(AuditHead).values(seq=2, hash=second.hash))
    with sessions() as session:
        result = audit.verify(session)
        count = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert count == 3
    assert (result.ok, result.bad_seq) == (False, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ab" * 32, audit.Checkpoint("ab" * 32)),
        ("AB" * 32, audit.Checkpoint("ab" * 32)),
        (f"12:{'ab' * 32}", audit.Checkpoint("ab" * 32, 12)),
        (f"#12:{'ab' * 32}", audit.Checkpoint("ab" * 32, 12)),
        (f"#12 {'ab' * 32}", audit.Checkpoint("ab" * 32, 12)),
        (f" `{'ab' * 32}` ", audit.Checkpoint("ab" * 32)),
    ],
)
def test_checkpoint_forms(text: str, expected: audit.Checkpoint) -> None:
    assert audit.Checkpoint.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "ab" * 31, "ab" * 33, "zz" * 32, f"0:{'ab' * 32}", f"x:{'ab' * 32}", "12"]
)
def test_checkpoint_refusals(text: str) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        audit.Checkpoint.parse(text)
