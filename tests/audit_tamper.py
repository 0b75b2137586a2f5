"""For tests that tamper with the audit log on purpose: the database's guard lifted.

Migration 0004 makes both databases refuse UPDATE and DELETE on `audit_entries` (and
TRUNCATE on PostgreSQL). `unguarded` lifts that for the caller's transaction only: on
PostgreSQL the triggers are disabled and enabled again, on SQLite dropped and created
again from their own stored SQL. Both are transactional, so the guard is back at commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


@contextmanager
def unguarded(session: Session | Connection) -> Iterator[None]:
    """Tampering allowed until the block ends (flush ORM changes inside it)."""
    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        yield
        session.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))
        return
    triggers = session.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": "audit_entries"},
    ).all()
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        session.execute(text(sql))
