"""SQLite writers of one process queue on a lock; readers never wait for them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import checkpoint, make_engine, make_session_factory, read_only


def test_writers_take_turns_and_readers_do_not_queue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    sessions = make_session_factory(engine)
    reads = read_only(sessions)
    holding = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        with sessions.begin() as session:
            session.execute(text("UPDATE counter SET n = n + 1"))
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(5)
    started = time.monotonic()
    with reads.begin() as session:  # not blocked by the open write transaction
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 0
    assert time.monotonic() - started < 1

    def second_writer() -> None:
        with sessions.begin() as session:
            session.execute(text("UPDATE counter SET n = n + 10"))

    waiting = threading.Thread(target=second_writer)
    waiting.start()
    time.sleep(0.1)
    assert waiting.is_alive()  # queued behind the first writer
    release.set()
    thread.join(5)
    waiting.join(5)
    with reads.begin() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar_one() == 11
    engine.dispose()


def test_a_failed_write_releases_the_queue(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            session.execute(text("SELECT * FROM no_such_table"))
    except Exception:  # noqa: S110 - the failure itself is the point
        pass
    done = threading.Event()

    def writer() -> None:
        with sessions.begin() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        done.set()

    threading.Thread(target=writer).start()
    assert done.wait(5)
    engine.dispose()


def test_checkpoint_moves_the_log_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        for _ in range(200):
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "y" * 500})
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 0
    before = path.stat().st_size
    checkpoint(engine)
    assert path.stat().st_size > before
    engine.dispose()
