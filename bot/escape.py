"""Make outside text safe and short enough for Slack.

Slack parses `&`, `<` and `>` as control characters, so escaping them disarms `<!channel>`,
`<@U…>` and `<http://…|…>`. Text objects that are not `verbatim` also turn bare `@here`,
`@channel`, `@everyone`, `@name` and `#channel` into mentions and links; a zero-width space
after the sigil keeps them as they read without letting Slack match them.

Lengths are counted in UTF-16 code units, never fewer than Slack counts, so a capped text
always fits the Block Kit limit it was capped to.
"""

from __future__ import annotations

import re

# Block Kit limits (Slack's Block Kit reference).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
MAX_FIELDS = 10
CONTEXT_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MAX_BLOCKS = 50
MODAL_TITLE_MAX = 24
MODAL_BUTTON_MAX = 24
PRIVATE_METADATA_MAX = 3000

ELLIPSIS = "…"
ZERO_WIDTH_SPACE = "\u200b"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# A sigil Slack could read as the start of a mention: `@`/`#` before a word, not inside one
# (so `a@b.com` stays whole), and any `@` before a broadcast name. `#` before digits is
# left alone: request numbers (`#12`) are no channel names.
_MENTION_SIGIL = re.compile(
    r"(?<!\w)(?:@(?=\w)|#(?=\w)(?!\d+\b))|@(?=(?:channel|here|everyone|group)\b)",
    re.IGNORECASE,
)
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")  # users, and enterprise-grid users


def slack_length(text: str) -> int:
    """Length in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def escape_mrkdwn(text: str, limit: int | None = None) -> str:
    """`text` as mrkdwn that shows exactly what was written and can never mention or link.

    With `limit`, the result is cut to at most `limit` units, ending in `…`; an entity or a
    neutralised sigil is never split.
    """
    sigils = {match.start() for match in _MENTION_SIGIL.finditer(text)}
    pieces = [
        _ENTITIES.get(char, char) + (ZERO_WIDTH_SPACE if index in sigils else "")
        for index, char in enumerate(text)
    ]
    return _join_within(pieces, limit)


def plain(text: str, limit: int) -> str:
    """`text` for a `plain_text` object: no markup to escape, but never empty or too long."""
    return _join_within(list(text), limit) if text.strip() else "-"


def _join_within(pieces: list[str], limit: int | None) -> str:
    whole = "".join(pieces)
    if limit is None or slack_length(whole) <= limit:
        return whole
    budget = limit - slack_length(ELLIPSIS)
    kept: list[str] = []
    for piece in pieces:
        budget -= slack_length(piece)
        if budget < 0:
            break
        kept.append(piece)
    return "".join(kept) + ELLIPSIS


def mention_user(user_id: str) -> str:
    """`<@U…>` for a Slack user ID; anything not shaped like one is shown as escaped text."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else escape_mrkdwn(user_id, 40)
