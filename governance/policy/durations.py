"""Durations as the policy file writes them: a whole number and one unit, `30s` to `7d`."""

from __future__ import annotations

import re
from datetime import timedelta

from governance.errors import InvalidDuration

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"^(\d+)([smhd])$")
EXAMPLES = "30s, 15m, 24h or 7d"


def parse_duration(text: str) -> timedelta:
    """`24h` -> `timedelta(hours=24)`; anything else, zero included, raises `InvalidDuration`."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise InvalidDuration(f"{text!r} is not a duration like {EXAMPLES}")
    count, unit = int(match.group(1)), match.group(2)
    if count == 0:
        # A zero lifetime would expire every request the moment it is made.
        raise InvalidDuration("a duration must be longer than zero")
    try:
        return timedelta(**{UNITS[unit]: count})
    except OverflowError as exc:
        raise InvalidDuration(f"{text!r} is too long") from exc


def format_duration(duration: timedelta) -> str:
    """The inverse of `parse_duration`, in the largest unit that divides evenly."""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
