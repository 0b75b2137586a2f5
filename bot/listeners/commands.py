"""`/empire …`: parsed, submitted, answered ephemerally within the same request."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot import answers
from bot.grammar import HelpCommand, InvoiceCommand, RefundCommand, UsageError, parse_command
from bot.listeners import ListenerDeps
from bot.workers import PREPARE, SLACK
from governance.actions.base import Payload
from governance.actions.invoice import invoice_payload
from governance.actions.refund import refund_payload
from governance.requests import State


def register(app: App, deps: ListenerDeps) -> None:
    @app.command("/empire")
    def empire(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_command(command.get("text", ""), deps.currency)
        except UsageError as exc:
            ack(text=answers.usage_error(exc))
            return
        if isinstance(parsed, HelpCommand):
            ack(text=answers.help_reply())
            return
        action, payload = _request_of(parsed)
        origin = {
            "via": "slack",
            "user_id": command["user_id"],
            "channel_id": command.get("channel_id"),
            "response_url": command.get("response_url"),
        }
        submitted = deps.governance.submit(action, payload, command["user_id"], origin)
        ack(text=answers.submitted(submitted, action, deps.approvals_channel))
        if submitted.state is State.RECEIVED:
            deps.wake(PREPARE)
        elif submitted.state is State.PENDING:
            deps.wake(SLACK)


def _request_of(parsed: InvoiceCommand | RefundCommand) -> tuple[str, Payload]:
    if isinstance(parsed, InvoiceCommand):
        return "payments.invoice", invoice_payload(
            parsed.client_email, parsed.amount, parsed.description, parsed.due_days
        )
    return "payments.refund", refund_payload(parsed.invoice_id, parsed.amount, parsed.reason)
