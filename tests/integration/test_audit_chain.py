"""The hash chain on real databases: any edit, removal or reordering is named."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from storage.models import AuditEntry, AuditHead
from tests.audit_tamper import unguarded


def fill(sessions: sessionmaker[Session], count: int) -> None:
    for number in range(count):
        with sessions.begin() as session:
            audit.append(session, "test.entry", "U0TEST", {"n": number, "text": "ünïcode"}, None)


def verdict(sessions: sessionmaker[Session]) -> audit.Verdict:
    with sessions() as session:
        return audit.verify(session)


def test_an_untouched_chain_verifies(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    assert verdict(sessions) == audit.Verdict(True, 5)


def test_an_empty_chain_verifies(sessions: sessionmaker[Session]) -> None:
    assert verdict(sessions) == audit.Verdict(True, 0)


def test_an_edited_payload_is_named(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    with sessions.begin() as session, unguarded(session):
        session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(payload='{"n":99}'))
    result = verdict(sessions)
    assert (result.ok, result.bad_seq) == (False, 3)


def test_an_edited_actor_with_a_recomputed_hash_breaks_the_next_link(
    sessions: sessionmaker[Session],
) -> None:
    fill(sessions, 5)
    with sessions.begin() as session, unguarded(session):
        entry = session.get(AuditEntry, 2)
        assert entry is not None
        entry.actor = "U0FORGER"
        entry.hash = audit.entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.created_at,
            entry.actor,
            entry.kind,
            entry.request_id,
            entry.payload,
        )
        session.flush()
    result = verdict(sessions)
    assert (result.ok, result.bad_seq) == (False, 3)


def test_a_removed_entry_is_named(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    with sessions.begin() as session, unguarded(session):
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    result = verdict(sessions)
    assert (result.ok, result.bad_seq) == (False, 2)


def test_removed_last_entries_are_noticed(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    with sessions.begin() as session, unguarded(session):
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= 4))
    result = verdict(sessions)
    assert (result.ok, result.bad_seq) == (False, 4)


def test_reordered_entries_are_named(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 5)
    with sessions.begin() as session, unguarded(session):
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(seq=100))
        session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(seq=2))
        session.execute(update(AuditEntry).where(AuditEntry.seq == 100).values(seq=3))
    result = verdict(sessions)
    assert (result.ok, result.bad_seq) == (False, 2)


def test_concurrent_appends_form_one_chain(sessions: sessionmaker[Session]) -> None:
    def worker(name: str) -> None:
        for number in range(10):
            with sessions.begin() as session:
                audit.append(session, "test.entry", name, {"n": number})

    threads = [threading.Thread(target=worker, args=(f"U{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verdict(sessions) == audit.Verdict(True, 60)
    with sessions() as session:
        head = session.get(AuditHead, 1)
        last = session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
    assert head is not None
    assert last is not None
    assert head.hash == last.hash


@pytest.mark.parametrize("count", [1, 3])
def test_a_rolled_back_append_leaves_no_trace(sessions: sessionmaker[Session], count: int) -> None:
    fill(sessions, count)
    session = sessions()
    with session.begin():
        audit.append(session, "test.entry", "U0", {"doomed": True})
        session.rollback()
    session.close()
    assert verdict(sessions) == audit.Verdict(True, count)
