"""Periodic jobs run once per due time, whatever the number of processes sharing the database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance.schedule import Job, daily_at
from storage.models import ScheduledJob

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_daily_at_is_the_next_such_hour() -> None:
    six = daily_at(6)
    assert six(NOON) == datetime(2026, 11, 27, 6, tzinfo=UTC)
    assert six(NOON.replace(hour=5, minute=59)) == NOON.replace(hour=6, minute=0)
    assert six(NOON.replace(hour=6)) == datetime(2026, 11, 27, 6, tzinfo=UTC)


def job(
    sessions: sessionmaker[Session], owner: str, clock: Clock, runs: list[Any], **kw: Any
) -> Job:
    def run(last_run: datetime | None) -> dict[str, Any]:
        runs.append((owner, last_run))
        return {"ok": True}

    return Job(sessions, "nightly", run, daily_at(6), owner, clock=clock, **kw)


def test_a_job_runs_when_due_and_once_per_due_time(sessions: sessionmaker[Session]) -> None:
    clock, runs = Clock(NOON), []
    first = job(sessions, "a", clock, runs)
    assert first.run_if_due() == 0  # the first due time is tomorrow at six
    clock.now = NOON + timedelta(hours=18)
    assert first.run_if_due() == 1
    assert first.run_if_due() == 0
    clock.now += timedelta(days=1)
    assert first.run_if_due() == 1
    assert [owner for owner, _ in runs] == ["a", "a"]
    assert runs[0][1] is None
    assert runs[1][1] == NOON + timedelta(hours=18)


def test_two_processes_at_the_same_moment_run_it_once(sessions: sessionmaker[Session]) -> None:
    clock, runs = Clock(NOON), []
    jobs = [job(sessions, owner, clock, runs) for owner in ("a", "b", "c", "d")]
    jobs[0].run_if_due()
    clock.now = NOON + timedelta(days=1)
    barrier = threading.Barrier(len(jobs))
    counts: list[int] = []

    def race(one: Job) -> None:
        barrier.wait()
        counts.append(one.run_if_due())

    threads = [threading.Thread(target=race, args=(one,)) for one in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(counts) == [0, 0, 0, 1]
    assert len(runs) == 1


def test_a_run_that_fails_is_tried_again_and_keeps_its_due_time(
    sessions: sessionmaker[Session],
) -> None:
    clock = Clock(NOON)
    calls: list[int] = []

    def flaky(last_run: datetime | None) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Stripe is down")
        return {}

    nightly = Job(sessions, "nightly", flaky, daily_at(6), "a", clock=clock)
    nightly.run_if_due()
    clock.now = NOON + timedelta(days=1)
    with pytest.raises(RuntimeError):
        nightly.run_if_due()
    assert nightly.run_if_due() == 1
    with sessions.begin() as session:
        row = session.execute(select(ScheduledJob)).scalar_one()
        assert row.lease_owner is None
        assert row.next_run_at == datetime(2026, 11, 28, 6, tzinfo=UTC)


def test_a_lease_left_by_a_dead_process_runs_out(sessions: sessionmaker[Session]) -> None:
    clock, runs = Clock(NOON), []
    survivor = job(sessions, "b", clock, runs, lease=timedelta(minutes=30))
    survivor.run_if_due()
    clock.now = NOON + timedelta(days=1)
    with sessions.begin() as session:
        row = session.get(ScheduledJob, "nightly")
        assert row is not None
        row.lease_owner, row.lease_until = "dead", clock.now + timedelta(minutes=10)
    assert survivor.run_if_due() == 0
    clock.now += timedelta(minutes=11)
    assert survivor.run_if_due() == 1
