"""The approval card: one message per action request, rebuilt after every decision.

Outside text (field values, reasons, rule names) is escaped here, so a caller cannot forget;
only `result_lines` are trusted mrkdwn, written by our own code. Every mrkdwn object is
`verbatim`, so Slack does not auto-link what the escaping leaves as plain words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.escape import (
    BUTTON_TEXT_MAX,
    BUTTON_VALUE_MAX,
    CONTEXT_TEXT_MAX,
    FIELD_TEXT_MAX,
    HEADER_TEXT_MAX,
    MAX_BLOCKS,
    MAX_FIELDS,
    SECTION_TEXT_MAX,
    escape_mrkdwn,
    mention_user,
    plain,
    slack_length,
)

Block = dict[str, Any]

_HEADLINES = {
    "received": messages.STATUS_RECEIVED,
    "pending": messages.STATUS_PENDING,
    "approved": messages.STATUS_EXECUTING,
    "executing": messages.STATUS_EXECUTING,
    "succeeded": messages.STATUS_SUCCEEDED,
    "failed": messages.STATUS_FAILED,
    "denied": messages.STATUS_DENIED,
    "expired": messages.STATUS_EXPIRED,
    "cancelled": messages.STATUS_CANCELLED,
    "rejected": messages.STATUS_REJECTED,
}
CARD_STATES = frozenset(_HEADLINES)
_OPEN_STATES = frozenset({"received", "pending"})  # where the expiry still matters
_LABEL_MAX = 100
_NAME_MAX = 200
DECISION_BLOCK_ID = "decision"


@dataclass(frozen=True)
class CardView:
    request_id: int
    title: str  # ours: "Invoice", "Refund"
    state: str  # one of CARD_STATES
    fields: tuple[tuple[str, str], ...]  # (label, outside value)
    requester: str  # Slack user ID
    rule_name: str
    approvals_required: int
    approved_by: tuple[str, ...]  # Slack user IDs
    approver_hint: str  # who may approve, e.g. "finance"
    expires_at: datetime  # timezone-aware
    button_value: str  # opaque; the value of every button
    denied_by: str | None = None
    deny_reason: str | None = None  # outside text
    result_lines: tuple[str, ...] = ()  # trusted mrkdwn, e.g. the hosted invoice link
    failure_reason: str | None = None  # outside text; also the reason of a rejection
    editable: bool = False  # pending cards get an Edit button
    edits: tuple[Edit, ...] = ()  # oldest first; the card shows the latest
    api_client: str | None = None  # the API token's name, when a program asked (outside text)


@dataclass(frozen=True)
class Edit:
    by: str  # Slack user ID
    changes: tuple[tuple[str, str, str], ...]  # (label, before, after), outside text


def build_card(view: CardView) -> tuple[str, list[Block]]:
    """The fallback text (for notifications) and the blocks of the card."""
    _check(view)
    blocks = [
        _header(view),
        *_field_sections(view.fields),
        *_edit_note(view),
        {"type": "context", "elements": [_mrkdwn(text) for text in _context_lines(view)]},
        {"type": "section", "text": _mrkdwn(_status(view))},
    ]
    buttons = _buttons(view)
    if buttons:
        blocks.append({"type": "actions", "block_id": DECISION_BLOCK_ID, "elements": buttons})
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"a card of {len(view.fields)} fields needs too many blocks")
    fallback = messages.CARD_FALLBACK.format(
        title=escape_mrkdwn(view.title, _NAME_MAX),
        request_id=view.request_id,
        status=_HEADLINES[view.state],
    )
    return fallback, blocks


def _check(view: CardView) -> None:
    if view.state not in CARD_STATES:
        raise ValueError(f"unknown card state {view.state!r}")
    if view.expires_at.utcoffset() is None:
        raise ValueError("expires_at must be timezone-aware")
    if not 0 < len(view.button_value) <= BUTTON_VALUE_MAX:
        raise ValueError(f"button_value must be 1 to {BUTTON_VALUE_MAX} characters")


def _header(view: CardView) -> Block:
    title = plain(f"{view.title} #{view.request_id}", HEADER_TEXT_MAX)
    return {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}


def _field_sections(fields: tuple[tuple[str, str], ...]) -> list[Block]:
    texts = [_field_text(label, value) for label, value in fields]
    return [
        {"type": "section", "fields": [_mrkdwn(text) for text in texts[start : start + MAX_FIELDS]]}
        for start in range(0, len(texts), MAX_FIELDS)
    ]


def _field_text(label: str, value: str) -> str:
    heading = f"*{escape_mrkdwn(label, _LABEL_MAX)}*\n"
    room = FIELD_TEXT_MAX - slack_length(heading)
    return heading + (escape_mrkdwn(value, room) if value.strip() else messages.FIELD_EMPTY)


def _edit_note(view: CardView) -> list[Block]:
    """What the last edit changed, so approvers see it; approvals before it were voided."""
    if not view.edits:
        return []
    edit = view.edits[-1]
    changes = "; ".join(
        messages.EDIT_CHANGE.format(
            label=escape_mrkdwn(label, _LABEL_MAX),
            before=escape_mrkdwn(before, 200) or messages.FIELD_EMPTY,
            after=escape_mrkdwn(after, 200) or messages.FIELD_EMPTY,
        )
        for label, before, after in edit.changes
    )
    text = messages.EDITED_BY.format(user=mention_user(edit.by), changes=changes)
    if len(view.edits) > 1:
        text += messages.EDITED_TIMES.format(count=len(view.edits))
    return [{"type": "context", "elements": [_mrkdwn(_cut(text, CONTEXT_TEXT_MAX))]}]


def _cut(text: str, limit: int) -> str:
    return text if slack_length(text) <= limit else text[: limit - 1] + messages.MORE_LINES


def _context_lines(view: CardView) -> list[str]:
    approvals = messages.CONTEXT_APPROVALS.format(
        count=len(view.approved_by), required=view.approvals_required
    )
    if view.approved_by:
        users = _join_whole(
            (mention_user(user) for user in view.approved_by), ", ", CONTEXT_TEXT_MAX - 100
        )
        approvals += messages.CONTEXT_APPROVED_BY.format(users=users)
    lines = [
        messages.CONTEXT_REQUESTER.format(user=requester_text(view)),
        messages.CONTEXT_RULE.format(rule=escape_mrkdwn(view.rule_name, _NAME_MAX)),
        approvals,
    ]
    if view.state == "pending":
        hint = escape_mrkdwn(view.approver_hint, _NAME_MAX)
        lines.append(messages.CONTEXT_APPROVERS.format(hint=hint))
    if view.state in _OPEN_STATES:
        lines.append(messages.CONTEXT_EXPIRES.format(date=_slack_date(view.expires_at)))
    return lines


def requester_text(view: CardView) -> str:
    """`<@U…>`, or "API client `name`" when a program asked over the REST API."""
    if view.api_client is not None:
        name = escape_mrkdwn(view.api_client.replace("`", "'"), _NAME_MAX)
        return messages.API_CLIENT.format(name=name)
    return mention_user(view.requester)


def _slack_date(moment: datetime) -> str:
    """Shown in each reader's own time zone; the fallback is for clients that cannot."""
    fallback = moment.astimezone(UTC).strftime(messages.DATE_FALLBACK)
    return f"<!date^{int(moment.timestamp())}^{messages.DATE_FORMAT}|{fallback}>"


def _status(view: CardView) -> str:
    if view.state == "succeeded":
        lines = (messages.STATUS_SUCCEEDED, *view.result_lines)
        return _join_whole(lines, "\n", SECTION_TEXT_MAX)
    if view.state == "denied" and view.denied_by:
        denied = messages.STATUS_DENIED_BY.format(user=mention_user(view.denied_by))
        return _with_reason(denied, view.deny_reason)
    if view.state == "denied":
        return _with_reason(messages.STATUS_DENIED, view.deny_reason)
    if view.state == "cancelled" and view.denied_by:
        return messages.STATUS_WITHDRAWN_BY.format(user=mention_user(view.denied_by))
    if view.state in ("failed", "rejected"):
        return _with_reason(_HEADLINES[view.state], view.failure_reason)
    return _HEADLINES[view.state]


def _with_reason(headline: str, reason: str | None) -> str:
    if not reason or not reason.strip():
        return headline
    room = SECTION_TEXT_MAX - slack_length(headline) - slack_length(messages.REASON_SUFFIX)
    return headline + messages.REASON_SUFFIX.format(reason=escape_mrkdwn(reason, room))


def _join_whole(items: Iterable[str], separator: str, limit: int) -> str:
    """Join whole items while they fit: cutting trusted mrkdwn could break a link in two."""
    joined = ""
    for item in items:
        candidate = f"{joined}{separator}{item}" if joined else item
        if slack_length(candidate) + slack_length(separator + messages.MORE_LINES) > limit:
            return f"{joined}{separator}{messages.MORE_LINES}" if joined else messages.MORE_LINES
        joined = candidate
    return joined


def _buttons(view: CardView) -> list[Block]:
    if view.state == "pending":
        buttons = [
            _button(messages.BUTTON_APPROVE, "approve", view.button_value, "primary"),
            _button(messages.BUTTON_DENY, "deny", view.button_value, "danger"),
        ]
        if view.editable:
            buttons.append(_button(messages.BUTTON_EDIT, "edit", view.button_value))
        return buttons
    if view.state == "failed":
        return [_button(messages.BUTTON_RETRY, "retry", view.button_value)]
    return []


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": plain(label, BUTTON_TEXT_MAX)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
