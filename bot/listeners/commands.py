"""`/empire …`: parsed, submitted or answered from the ledger, ephemerally, within the request."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from bot import answers, audit_views, messages
from bot.escape import escape_mrkdwn
from bot.grammar import (
    AuditCommand,
    CancelCommand,
    ClientRef,
    ClientsCommand,
    HelpCommand,
    InvoiceCommand,
    PayCommand,
    PolicyCommand,
    RefundCommand,
    RevenueCommand,
    StatusCommand,
    SubscribeCommand,
    UsageError,
    WithdrawCommand,
    parse_command,
    usage_line,
)
from bot.ledger_views import clients_text, status_text, status_unknown_text
from bot.listeners import ListenerDeps
from bot.policy_view import policy_explanation, policy_overview
from bot.workers import PREPARE, SLACK
from governance import clients
from governance.actions.base import Payload
from governance.actions.invoice import invoice_payload
from governance.actions.pay import pay_payload
from governance.actions.refund import refund_payload
from governance.actions.subscription import cancel_payload, subscription_payload
from governance.errors import ClickRefused, RequestNotFound
from governance.ledger.queries import invoice_status, mrr_at
from governance.money import Money
from governance.requests import State
from governance.totals import RequestTotals

ActionCommand = InvoiceCommand | SubscribeCommand | CancelCommand | PayCommand | RefundCommand


def register(app: App, deps: ListenerDeps) -> None:
    @app.command("/empire")
    def empire(ack: Ack, command: dict[str, Any]) -> None:
        try:
            parsed = parse_command(command.get("text", ""), deps.currency)
            if isinstance(parsed, HelpCommand):
                ack(text=answers.help_reply())
                return
            if isinstance(parsed, ClientsCommand | StatusCommand | RevenueCommand):
                ack(**_look_up(parsed, command, deps))
                return
            if isinstance(parsed, AuditCommand):
                ack(**audit_answer(parsed, deps))
                return
            if isinstance(parsed, PolicyCommand):
                ack(**policy_answer(parsed, command, deps))
                return
            if isinstance(parsed, WithdrawCommand):
                ack(text=_withdraw(parsed, command, deps))
                return
            with deps.reads.begin() as session:
                action, payload = _request_of(parsed, session, deps)
        except UsageError as exc:
            ack(text=answers.usage_error(exc))
            return
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


def _look_up(
    parsed: ClientsCommand | StatusCommand | RevenueCommand,
    command: dict[str, Any],
    deps: ListenerDeps,
) -> dict[str, Any]:
    """Answers read from the registry and the ledger: nothing is asked of Stripe here."""
    if isinstance(parsed, RevenueCommand):
        return deps.revenue.answer(parsed.period, command)
    with deps.reads.begin() as session:
        if isinstance(parsed, ClientsCommand):
            return {"text": clients_text(clients.all_clients(session))}
        status = invoice_status(session, parsed.invoice_id)
        if status is None:
            return {"text": status_unknown_text(parsed.invoice_id)}
        return {"text": status_text(status)}


def _withdraw(parsed: WithdrawCommand, command: dict[str, Any], deps: ListenerDeps) -> str:
    try:
        deps.governance.withdraw(parsed.request_id, command["user_id"])
    except (ClickRefused, RequestNotFound) as exc:
        return escape_mrkdwn(str(exc))
    deps.wake(SLACK)
    return messages.WITHDRAWN.format(request_id=parsed.request_id)


def audit_answer(parsed: AuditCommand, deps: ListenerDeps) -> dict[str, Any]:
    """`/empire audit recent|verify`: read from the audit log, nothing written."""
    with deps.reads.begin() as session:
        return {"text": audit_views.answer(session, parsed.what)}


def policy_answer(
    parsed: PolicyCommand, command: dict[str, Any], deps: ListenerDeps
) -> dict[str, Any]:
    """`/empire policy [action [amount]]`: the rules, or which applies to such a request."""
    policy = deps.policy()
    if parsed.action is None:
        return {"text": policy_overview(policy)}
    with deps.reads.begin() as session:
        totals = RequestTotals(session, deps.clock())
        text = policy_explanation(
            policy, parsed.action, parsed.amount, command["user_id"], totals, deps.directory
        )
    return {"text": text}


def _request_of(parsed: ActionCommand, session: Session, deps: ListenerDeps) -> tuple[str, Payload]:
    if isinstance(parsed, InvoiceCommand):
        email = _email_of(parsed.client, session, usage_line(messages.INVOICE))
        return "payments.invoice", invoice_payload(
            email, parsed.amount, parsed.description, parsed.due_days
        )
    if isinstance(parsed, SubscribeCommand):
        email = _email_of(parsed.client, session, usage_line(messages.SUBSCRIBE))
        before = _mrr_now(session, deps, parsed.amount.currency)
        return "payments.subscription", subscription_payload(
            email, parsed.amount, parsed.interval, parsed.plan, before
        )
    if isinstance(parsed, CancelCommand):
        return "payments.cancel_subscription", cancel_payload(
            parsed.subscription_id, parsed.now, _mrr_now(session, deps, None)
        )
    if isinstance(parsed, PayCommand):
        return "payments.pay", pay_payload(parsed.invoice_id, parsed.out_of_band_note)
    return "payments.refund", refund_payload(parsed.invoice_id, parsed.amount, parsed.reason)


def _email_of(client: ClientRef, session: Session, usage: str) -> str:
    if client.email is not None:
        return client.email
    found = clients.find(session, handle=client.handle)
    if found is None:
        raise UsageError(messages.UNKNOWN_CLIENT.format(handle=client.text), usage)
    return found.email


def _mrr_now(session: Session, deps: ListenerDeps, currency: str | None) -> Money | None:
    """MRR before the change, in the currency of the change (the business's by default)."""
    return mrr_at(session, deps.clock()).get(currency or deps.currency)
