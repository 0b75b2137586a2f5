"""Background work waits for a quiet moment, but never longer than its patience."""

from __future__ import annotations

import pytest

from bot.foreground import Foreground


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def foreground(time: FakeTime) -> Foreground:
    return Foreground(quiet=0.02, patience=1.0, clock=time.clock, sleep=time.sleep)


def test_an_idle_foreground_lets_background_work_start_at_once(time: FakeTime) -> None:
    gate = foreground(time)
    gate.give_way()
    assert time.slept == []


def test_background_work_waits_for_a_quiet_moment_after_a_request(time: FakeTime) -> None:
    gate = foreground(time)
    with gate.serving():
        time.now += 0.005
    time.now += 0.005
    gate.give_way()
    assert time.slept == [0.015]


def test_a_request_in_flight_holds_background_work_until_patience_runs_out(
    time: FakeTime,
) -> None:
    gate = foreground(time)
    with gate.serving():
        gate.give_way()
        assert sum(time.slept) == pytest.approx(1.0)


def test_nested_requests_count_until_the_last_one_ends(time: FakeTime) -> None:
    gate = foreground(time)
    with gate.serving():
        with gate.serving():
            pass
        time.now += 0.5
        start = time.now
        gate.give_way()
        assert time.now - start == pytest.approx(1.0)  # still one in flight: patience
    time.now += 0.02
    time.slept.clear()
    gate.give_way()
    assert time.slept == []
