"""`/empire audit [recent|verify]`: ephemeral answers read from the audit log.

Actors, kinds and everything else in an entry may have come from outside (a Slack user ID,
a Stripe event type): Slack user IDs are shown as mentions, the rest escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot import messages
from bot.escape import escape_mrkdwn, mention_user
from bot.grammar import AUDIT_VERIFY
from governance import audit
from governance.audit_witness import last_checkpoint
from storage.models import AuditCheckpoint

RECENT_SHOWN = 15
_KIND_MAX = 60


def recent_text(entries: Sequence[audit.EntryLike], total: int) -> str:
    """The entries given (oldest first), the last of the `total` in the log."""
    if not entries:
        return messages.AUDIT_EMPTY
    lines = [messages.AUDIT_RECENT_TITLE.format(shown=len(entries), total=f"{total:,}")]
    for entry in entries:
        request = (
            messages.AUDIT_RECENT_REQUEST.format(request_id=int(entry.request_id))
            if entry.request_id is not None
            else ""
        )
        lines.append(
            messages.AUDIT_RECENT_LINE.format(
                seq=int(entry.seq),
                at=f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
                actor=mention_user(str(entry.actor)),
                kind=_code(entry.kind),
                request=request,
            )
        )
    lines.append(messages.AUDIT_RECENT_FOOTER)
    return "\n".join(lines)


def verify_text(
    verdict: audit.Verdict, head: audit.Link | None, last: AuditCheckpoint | None
) -> str:
    if not verdict.ok:
        return "\n".join(
            [
                messages.AUDIT_VERIFY_FAILED.format(
                    seq=verdict.bad_seq, reason=escape_mrkdwn(verdict.reason or "", 300)
                ),
                messages.AUDIT_VERIFY_SIGNATURES,
            ]
        )
    if head is None or verdict.entries == 0:
        lines = [messages.AUDIT_VERIFY_EMPTY]
    else:
        lines = [
            messages.AUDIT_VERIFY_OK.format(
                entries=f"{verdict.entries:,}", seq=head.seq, hash=_code(head.hash, 64)
            )
        ]
    if last is None:
        lines.append(messages.AUDIT_VERIFY_NO_CHECKPOINT)
    else:
        lines.append(
            messages.AUDIT_VERIFY_LAST_CHECKPOINT.format(
                seq=last.seq, hash=_code(last.hash, 64), at=f"{last.created_at:%Y-%m-%d %H:%M}"
            )
        )
    lines.append(messages.AUDIT_VERIFY_SIGNATURES)
    return "\n".join(lines)


def answer(session: Session, what: str) -> str:
    """The answer to `/empire audit <what>`, read in `session` (read-only)."""
    if what == AUDIT_VERIFY:
        verdict, head = audit.verify_to_head(session)
        return verify_text(verdict, head, last_checkpoint(session))
    head = audit.head_of(session)
    return recent_text(audit.latest(session, RECENT_SHOWN), head.seq if head else 0)


def _code(text: str, limit: int = _KIND_MAX) -> str:
    """Text to show inside backticks: escaped, without a backtick that would end them."""
    return escape_mrkdwn(str(text).replace("`", "'"), limit)
