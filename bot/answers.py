"""Ephemeral answers to `/empire`, put together from the words in bot.messages."""

from __future__ import annotations

from bot import messages
from bot.escape import escape_mrkdwn
from bot.grammar import UsageError, help_text, usage_of_action
from governance.requests import State
from governance.service import Submitted


def usage_error(error: UsageError) -> str:
    # Both parts arrive escaped from the grammar.
    return f"{error.message}\n{error.usage}"


def help_reply() -> str:
    return help_text()


def submitted(result: Submitted, action: str, approvals_channel: str) -> str:
    if result.state is State.RECEIVED:
        return messages.SUBMITTED_CHECKING.format(request_id=result.request_id)
    if result.state is State.REJECTED:
        refused = messages.SUBMITTED_REFUSED.format(
            request_id=result.request_id, reason=escape_mrkdwn(result.reason or "")
        )
        usage = usage_of_action(action)
        return f"{refused}\n{usage}" if usage else refused
    return messages.SUBMITTED_PENDING.format(
        request_id=result.request_id,
        hint=escape_mrkdwn(result.approver_hint),
        channel=approvals_channel,
    )
