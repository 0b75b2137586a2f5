from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import GovernanceError, InvalidDuration
from governance.policy import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        (" 2h ", timedelta(hours=2)),
    ],
)
def test_parses_each_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "24", "h", "24 h", "24 hours", "1.5h", "-1h", "2w", "24H", "1h30m", "ten m"]
)
def test_refuses_text_that_is_not_a_duration(text: str) -> None:
    with pytest.raises(InvalidDuration, match="not a duration like 30s, 15m, 24h or 7d"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0s", "0m", "0h", "00d"])
def test_refuses_zero(text: str) -> None:
    with pytest.raises(InvalidDuration, match="longer than zero"):
        parse_duration(text)


def test_refuses_a_duration_too_long_to_represent() -> None:
    with pytest.raises(InvalidDuration, match="too long"):
        parse_duration("999999999999d")


def test_the_error_belongs_to_the_governance_tree() -> None:
    assert issubclass(InvalidDuration, GovernanceError)
    assert issubclass(InvalidDuration, ValueError)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=7), "7d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
    ],
)
def test_formats_in_the_largest_whole_unit(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from("smhd"))
def test_format_reads_back_as_the_same_duration(count: int, unit: str) -> None:
    duration = parse_duration(f"{count}{unit}")
    assert parse_duration(format_duration(duration)) == duration
