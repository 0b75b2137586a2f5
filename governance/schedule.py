"""Periodic jobs that run once across every `empire serve` sharing a database.

Each job has a row: when it is next due, and a lease. A process runs a due job only after
taking the lease with a compare-and-set, so two processes never both run it; a process
that dies mid-run leaves a lease that simply runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ScheduledJob

Next = Callable[[datetime], datetime]


def daily_at(hour: int) -> Next:
    """The next time it is `hour`:00 UTC, strictly after `now`."""

    def following(now: datetime) -> datetime:
        due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
        return due if due > now else due + timedelta(days=1)

    return following


class Job:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        run: Callable[[datetime | None], dict[str, Any]],
        next_time: Next,
        owner: str,
        *,
        lease: timedelta = timedelta(minutes=30),
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self.name = name
        self._run = run
        self._next = next_time
        self._owner = owner
        self._lease = lease
        self._now = clock

    def run_if_due(self) -> int:
        """Run the job when it is due and this process won the lease; 1 if it ran."""
        now = self._now()
        self._ensure_row(now)
        claimed, last_run = self._claim(now)
        if not claimed:
            return 0
        try:
            result = self._run(last_run)
        except BaseException:
            self._release()  # due as before: the next pass tries again
            raise
        self._finish(result)
        return 1

    def _ensure_row(self, now: datetime) -> None:
        with self._sessions.begin() as session:
            if session.get(ScheduledJob, self.name) is not None:
                return
        try:
            with self._sessions.begin() as session:
                session.add(
                    ScheduledJob(name=self.name, next_run_at=self._next(now), last_result={})
                )
        except IntegrityError:
            pass  # another process made it first

    def _claim(self, now: datetime) -> tuple[bool, datetime | None]:
        """Whether the lease is now ours, and when the job last ran (None: never)."""
        with self._sessions.begin() as session:
            taken = session.execute(
                update(ScheduledJob)
                .where(
                    ScheduledJob.name == self.name,
                    ScheduledJob.next_run_at <= now,
                    or_(ScheduledJob.lease_until.is_(None), ScheduledJob.lease_until < now),
                )
                .values(lease_owner=self._owner, lease_until=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return False, None
            last_run = session.execute(
                select(ScheduledJob.last_run_at).where(ScheduledJob.name == self.name)
            ).scalar_one()
            return True, last_run

    def _release(self) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.name == self.name, ScheduledJob.lease_owner == self._owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _finish(self, result: dict[str, Any]) -> None:
        # The next due time and the lease's release in one write: released while still
        # due, another process would run the job a second time.
        now = self._now()
        with self._sessions.begin() as session:
            session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.name == self.name, ScheduledJob.lease_owner == self._owner)
                .values(
                    next_run_at=self._next(now),
                    last_run_at=now,
                    last_result=result,
                    lease_owner=None,
                    lease_until=None,
                )
                .execution_options(synchronize_session=False)
            )
