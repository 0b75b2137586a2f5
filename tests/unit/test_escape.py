"""Outside text in mrkdwn: shown as written, never a mention or a link, never too long."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.escape import ZERO_WIDTH_SPACE, escape_mrkdwn, mention_user, plain, slack_length

ENTITY_START = re.compile(r"&(?!amp;|lt;|gt;)")
# `#` and digits alone (`#12`, a request number) names no channel and is left as written.
BARE_MENTION = re.compile(
    r"(?<!\w)(?:@\w|#(?!\d+\b)\w)|@(?:channel|here|everyone|group)\b", re.IGNORECASE
)


def unescape(mrkdwn: str) -> str:
    """What Slack shows for escaped text, minus the invisible spaces we put in."""
    shown = mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return shown.replace(ZERO_WIDTH_SPACE, "")


def assert_safe(mrkdwn: str) -> None:
    assert "<" not in mrkdwn
    assert ">" not in mrkdwn
    assert not ENTITY_START.search(mrkdwn)
    assert not BARE_MENTION.search(mrkdwn)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b", "a &amp; b"),
        ("1 < 2 > 0", "1 &lt; 2 &gt; 0"),
        ("&amp;", "&amp;amp;"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<http://x|y>", "&lt;http://x|y&gt;"),
        ("acme@example.com", "acme@example.com"),
        ("C# and F#", "C# and F#"),
        ("request #12", "request #12"),
        ("*bold* _it_", "*bold* _it_"),
        ("", ""),
    ],
)
def test_escapes_slacks_three_control_characters(text: str, expected: str) -> None:
    assert escape_mrkdwn(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<!channel>",
        "<!here|here>",
        "<@U123>",
        "<#C123|general>",
        "<http://evil.example|Hosted invoice>",
        "<!subteam^S123|@finance>",
        "@channel",
        "@here please",
        "hey @everyone",
        "@Channel",
        "x@here",
        "@group",
        "@ann",
        "#general",
        "(@here)",
    ],
)
def test_mentions_and_links_cannot_survive(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert_safe(escaped)
    assert unescape(escaped) == text


def test_broadcast_keeps_its_look_with_an_invisible_break() -> None:
    assert escape_mrkdwn("@here") == f"@{ZERO_WIDTH_SPACE}here"


def test_cut_text_ends_with_an_ellipsis_and_fits() -> None:
    escaped = escape_mrkdwn("x" * 100, 10)
    assert escaped == "x" * 9 + "…"
    assert escape_mrkdwn("x" * 10, 10) == "x" * 10


def test_cut_never_splits_an_entity() -> None:
    assert escape_mrkdwn("&&&&", 7) == "&amp;…"
    assert escape_mrkdwn("<<", 7) == "&lt;…"


def test_lengths_count_utf16_units() -> None:
    assert slack_length("😀") == 2
    assert slack_length("é") == 1
    assert slack_length(escape_mrkdwn("😀" * 10, 7)) <= 7


@given(st.text())
def test_any_text_is_safe_and_shown_as_written(text: str) -> None:
    escaped = escape_mrkdwn(text)
    assert_safe(escaped)
    assert unescape(escaped) == text.replace(ZERO_WIDTH_SPACE, "")


@given(st.text(), st.integers(min_value=2, max_value=3000))
def test_any_cut_text_is_safe_and_fits(text: str, limit: int) -> None:
    escaped = escape_mrkdwn(text, limit)
    assert_safe(escaped)
    assert slack_length(escaped) <= limit


@given(st.text(alphabet=st.sampled_from("@#<>&!|chanelryoU1 x.:/"), max_size=60))
def test_mention_like_text_is_safe(text: str) -> None:
    assert_safe(escape_mrkdwn(text))


def test_plain_caps_and_never_returns_empty() -> None:
    assert plain("Deny request #123456789012345", 24) == "Deny request #123456789…"
    assert slack_length(plain("Deny request #123456789012345", 24)) == 24
    assert plain("short", 24) == "short"
    assert plain("", 24) == "-"
    assert plain("   ", 24) == "-"


@given(st.text(), st.integers(min_value=2, max_value=200))
def test_plain_always_fits(text: str, limit: int) -> None:
    shown = plain(text, limit)
    assert shown
    assert slack_length(shown) <= limit


@pytest.mark.parametrize(
    ("user_id", "expected"),
    [
        ("U0FIN1", "<@U0FIN1>"),
        ("W0ENTERPRISE1", "<@W0ENTERPRISE1>"),
        ("U1> <!channel", "U1&gt; &lt;!channel"),
        ("u0fin1", "u0fin1"),
        ("", ""),
    ],
)
def test_mentions_only_real_user_ids(user_id: str, expected: str) -> None:
    assert mention_user(user_id) == expected
