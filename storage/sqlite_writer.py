"""One writer at a time per SQLite file in this process, handed over without sleeping.

SQLite lets one transaction write at a time; a second `BEGIN IMMEDIATE` waits in SQLite's
busy handler, which sleeps 1, 2, 5, 10… ms between tries and is not woken when the lock is
free. Threads of one process therefore queue on a Python lock first, which wakes the next
writer the moment the previous one commits or rolls back. Other processes still meet at
SQLite's own lock.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(database: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(database, threading.Lock())


class WriterQueueConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions queue on the file's process lock."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._writer_lock = _lock_for(str(database))
        self._writing = False

    def begin_write(self) -> None:
        self._writer_lock.acquire()
        self._writing = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._writing:
            self._writing = False
            self._writer_lock.release()
