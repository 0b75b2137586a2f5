"""`/empire audit` answers and the checkpoint notification: outside text never mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import audit_views, messages
from bot.escape import ZERO_WIDTH_SPACE
from bot.notifications import render
from governance import audit
from storage.models import AuditCheckpoint

AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
HASH = "ab" * 32


@dataclass(frozen=True)
class Entry:
    seq: int
    actor: str
    kind: str
    request_id: int | None = None
    created_at: datetime = AT
    payload: str = "{}"
    prev_hash: str = "0" * 64
    hash: str = HASH


def no_markup(text: str) -> str:
    """The text with the markup the views themselves write taken out: what is left came in."""
    return re.sub(r"<@U0FIN1>", "", text)


def test_recent_lists_time_actor_kind_and_request() -> None:
    text = audit_views.recent_text(
        [
            Entry(41, "U0FIN1", "approval.given", 12),
            Entry(42, "stripe", "stripe.event"),
        ],
        1234,
    )
    lines = text.splitlines()
    assert lines[0] == "*Audit log* — the last 2 of 1,234 entries:"
    assert lines[1] == "• `41` 2026-03-01 12:30:05 UTC — <@U0FIN1> `approval.given` · request #12"
    assert lines[2] == "• `42` 2026-03-01 12:30:05 UTC — stripe `stripe.event`"
    assert lines[-1] == messages.AUDIT_RECENT_FOOTER


def test_recent_escapes_actors_and_kinds_that_came_from_outside() -> None:
    text = audit_views.recent_text(
        [
            Entry(1, "<!channel>", "x"),
            Entry(2, "@here", "<@U0BOSS> `done`"),
            Entry(3, "U0FIN1|evil>", "<https://evil.example|click>", 3),
            Entry(4, "a" * 300, "k" * 300),
        ],
        4,
    )
    rest = no_markup(text)
    assert "<" not in rest
    assert ">" not in rest.replace("&gt;", "")
    assert "<!channel>" not in text
    assert "@here" not in text  # a zero-width space keeps it from mentioning
    assert "&lt;!channel&gt;" in text
    # no backtick ends the code span early
    assert "`&lt;@U0BOSS&gt; 'done'`" in text.replace(ZERO_WIDTH_SPACE, "")
    assert all(len(line) < 200 for line in text.splitlines())


def test_an_empty_log_says_so() -> None:
    assert audit_views.recent_text([], 0) == messages.AUDIT_EMPTY


def test_verify_ok_gives_the_counts_the_head_and_the_last_checkpoint() -> None:
    checkpoint = AuditCheckpoint(seq=1200, hash="cd" * 32, created_at=AT)
    text = audit_views.verify_text(audit.Verdict(True, 1234), audit.Link(1234, HASH), checkpoint)
    lines = text.splitlines()
    assert lines[0] == (
        f":white_check_mark: *The audit log verifies*: 1,234 entries chained from the first "
        f"to head #1234 `{HASH}`."
    )
    assert lines[1] == f"Last checkpoint: #1200 `{'cd' * 32}`, 2026-03-01 12:30 UTC."
    assert lines[2] == messages.AUDIT_VERIFY_SIGNATURES


def test_verify_of_an_empty_log_and_without_checkpoints() -> None:
    text = audit_views.verify_text(audit.Verdict(True, 0), audit.Link(0, "0" * 64), None)
    assert text.splitlines()[:2] == [
        messages.AUDIT_VERIFY_EMPTY,
        messages.AUDIT_VERIFY_NO_CHECKPOINT,
    ]


def test_verify_failure_names_the_first_bad_entry() -> None:
    verdict = audit.Verdict(False, 2, 3, "its content does not match its hash")
    text = audit_views.verify_text(verdict, audit.Link(5, HASH), None)
    assert text.splitlines()[0] == (
        ":rotating_light: *The audit log does not verify*: entry 3: "
        "its content does not match its hash."
    )


def test_the_checkpoint_notification() -> None:
    body = {"event": "audit.checkpoint", "facts": {"entries": 1234, "seq": 1234, "hash": HASH}}
    assert render(body) == f":lock: Audit checkpoint: 1,234 entries, head #1234 `{HASH}`"


def test_a_checkpoint_notification_with_odd_facts_stays_harmless() -> None:
    body = {"event": "audit.checkpoint", "facts": {"entries": "<!channel>", "hash": "<@U1>"}}
    text = render(body)
    assert "<" not in text
    assert text.startswith(":lock: Audit checkpoint: ? entries, head #? ")
