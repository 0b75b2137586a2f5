"""Engines and sessions: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.sqlite_writer import WriterQueueConnection

READ_ONLY = "empire_read_only"


def shown_url(url: str) -> str:
    """The database URL as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # No pre-ping: it would cost a round trip on every checkout, on the ack path; stale
    # connections are recycled instead.
    return create_engine(url, pool_recycle=300, pool_size=10, max_overflow=20)


def _sqlite_engine(url: str) -> Engine:
    # The driver's own transaction handling is switched off so that every transaction
    # starts with BEGIN IMMEDIATE: writers queue on the lock (busy_timeout) instead of
    # failing when a read transaction later tries to write.
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": 30,
            "factory": WriterQueueConnection,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoints run in the background (`checkpoint`), never inside a commit that
        # someone in Slack is waiting for.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (polls, pages) take no lock; they would only make writers wait.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.connection.dbapi_connection.begin_write()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_only(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on the same database for reading only (on SQLite they take no write lock)."""
    engine = sessions.kw["bind"]
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def checkpoint(engine: Engine) -> int:
    """Move SQLite's write-ahead log into the database file; a no-op elsewhere."""
    if engine.dialect.name != "sqlite":
        return 0
    connection = engine.raw_connection()
    try:
        # Outside any transaction: the driver connection runs in autocommit mode.
        connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
    finally:
        connection.close()
    return 0
