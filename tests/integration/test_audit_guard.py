"""The database itself refuses to change or remove audit entries (migration 0004).

Nothing in the code updates or deletes them; a person with a SQL prompt is refused too,
short of disabling the triggers (which the audit verification and checkpoints then catch).
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from storage.models import AuditEntry
from tests.audit_tamper import unguarded


def fill(sessions: sessionmaker[Session], count: int) -> None:
    with sessions.begin() as session:
        for number in range(count):
            audit.append(session, "test.entry", "U0TEST", {"n": number})


def entries(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        return [
            (seq, payload)
            for seq, payload in session.execute(
                select(AuditEntry.seq, AuditEntry.payload).order_by(AuditEntry.seq)
            )
        ]


REFUSED = [
    pytest.param(lambda: update(AuditEntry).values(payload="{}"), id="update-all"),
    pytest.param(
        lambda: update(AuditEntry).where(AuditEntry.seq == 2).values(actor="U0FORGER"),
        id="update-one",
    ),
    pytest.param(lambda: update(AuditEntry).values(seq=AuditEntry.seq + 10), id="renumber"),
    pytest.param(lambda: delete(AuditEntry).where(AuditEntry.seq == 3), id="delete-one"),
    pytest.param(lambda: delete(AuditEntry), id="delete-all"),
]


@pytest.mark.parametrize("statement", REFUSED)
def test_changing_or_removing_entries_is_refused(
    sessions: sessionmaker[Session], statement: object
) -> None:
    fill(sessions, 3)
    before = entries(sessions)
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
        session.execute(statement())  # type: ignore[operator]
    assert entries(sessions) == before
    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 3)


def test_an_orm_edit_is_refused_at_flush(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 2)
    with sessions() as session:
        entry = session.get(AuditEntry, 1)
        assert entry is not None
        entry.payload = '{"n":99}'
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with sessions() as session:
        entry = session.get(AuditEntry, 2)
        assert entry is not None
        session.delete(entry)
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    with sessions() as session:
        assert audit.verify(session) == audit.Verdict(True, 2)


def test_truncate_is_refused_on_postgresql(engine: Engine, sessions: sessionmaker[Session]) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; a DELETE without WHERE is refused above")
    fill(sessions, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_entries"))
    assert len(entries(sessions)) == 2


def test_appending_goes_on_and_the_guard_comes_back_after_tampering(
    sessions: sessionmaker[Session],
) -> None:
    fill(sessions, 2)
    with sessions.begin() as session, unguarded(session):
        session.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(actor="U0X"))
    fill(sessions, 1)
    assert len(entries(sessions)) == 3
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
        session.execute(delete(AuditEntry))
    with sessions() as session:
        result = audit.verify(session)
    assert (result.ok, result.bad_seq) == (False, 1)
