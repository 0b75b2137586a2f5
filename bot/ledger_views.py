"""`/empire clients` and `/empire status`: ephemeral answers read from the registry and ledger.

Everything shown came from outside (names, emails, notes, URLs) and is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.escape import escape_mrkdwn
from governance.ledger.queries import InvoiceStatus
from governance.money import Money
from storage.models import Client

CLIENTS_SHOWN = 50
HISTORY_SHOWN = 15

_STATUS_WORDS = {
    "draft": "Draft",
    "open": "Open",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}
_EVENT_WORDS = {
    "invoice.created": "created",
    "invoice.finalized": "finalized",
    "invoice.sent": "sent to the client",
    "invoice.paid": "paid",
    "invoice.payment_succeeded": "payment succeeded",
    "invoice.payment_failed": "payment failed",
    "invoice.voided": "voided",
    "invoice.marked_uncollectible": "marked uncollectible",
    "invoice.overdue": "overdue",
    "refund.created": "refund",
    "refund.updated": "refund updated",
    "refund.failed": "refund failed",
    "charge.refunded": "charge refunded",
    "charge.dispute.created": "disputed",
    "charge.dispute.closed": "dispute closed",
    "payment_intent.payment_failed": "payment attempt failed",
}


# Stripe's bookkeeping events that add nothing a person reads in a history.
_NOT_TOLD = frozenset(
    {"invoice.updated", "invoice.payment_succeeded", "charge.dispute.funds_withdrawn"}
)


def clients_text(clients: Sequence[Client]) -> str:
    if not clients:
        return (
            "No clients yet. Clients are the Stripe customers the bot knows of: they appear "
            "when you invoice someone, and with the daily reconciliation."
        )
    lines = [f"*Clients* ({len(clients)}): use the handle or the email in commands."]
    for client in clients[:CLIENTS_SHOWN]:
        line = f"• `{escape_mrkdwn(client.handle)}` — {escape_mrkdwn(client.email)}"
        if client.name:
            line += f" · {escape_mrkdwn(client.name, 80)}"
        if client.stripe_customer:
            line += f" · {escape_mrkdwn(client.stripe_customer)}"
        if client.notes:
            line += f" · _{escape_mrkdwn(client.notes, 120)}_"
        lines.append(line)
    if len(clients) > CLIENTS_SHOWN:
        lines.append(f"…and {len(clients) - CLIENTS_SHOWN} more.")
    return "\n".join(lines)


def status_unknown_text(invoice_id: str) -> str:
    return (
        f"The ledger has nothing on `{escape_mrkdwn(invoice_id)}` yet: no Stripe event about "
        "it has arrived. Check the id, or that Stripe sends this bot its webhooks."
    )


def status_text(status: InvoiceStatus) -> str:
    invoice = status.invoice
    money = _money_in(invoice.currency)
    title = f"*Invoice {escape_mrkdwn(invoice.stripe_id)}*"
    if invoice.number:
        title += f" ({escape_mrkdwn(invoice.number)})"
    word = _STATUS_WORDS.get(invoice.status, escape_mrkdwn(invoice.status))
    if invoice.paid_out_of_band and invoice.status == "paid":
        word += " (outside Stripe)"
    lines = [f"{title} — *{word}*"]
    if invoice.customer_email:
        lines.append(f"Client: {escape_mrkdwn(invoice.customer_email)}")
    amounts = [
        f"due {money(invoice.amount_due)}",
        f"paid {money(invoice.amount_paid)}",
        f"remaining {money(invoice.amount_remaining)}",
    ]
    if status.refunded.minor:
        amounts.append(f"refunded {status.refunded.format()}")
    if status.disputed.minor:
        amounts.append(f"disputed {status.disputed.format()}")
    lines.append("Amounts: " + " · ".join(amounts))
    if invoice.due_at:
        lines.append(f"Due date: {invoice.due_at:%Y-%m-%d}")
    links = [
        f"<{escape_mrkdwn(url)}|{label}>"
        for url, label in (
            (invoice.hosted_invoice_url, "Invoice page"),
            (invoice.invoice_pdf, "PDF"),
        )
        if url and url.startswith("https://")
    ]
    if links:
        lines.append(" · ".join(links))
    if status.history:
        lines.append("*History*")
        told = [line for line in status.history if line.kind not in _NOT_TOLD]
        for line in told[-HISTORY_SHOWN:]:
            what = _EVENT_WORDS.get(line.kind, escape_mrkdwn(line.kind))
            text = f"• {line.at:%Y-%m-%d %H:%M} UTC — {what}"
            if line.amount and line.kind != "invoice.created":
                text += f" {line.amount.format()}"
            if line.note:
                text += f" ({escape_mrkdwn(line.note, 100)})"
            lines.append(text)
    if status.requests:
        asked = ", ".join(f"#{r.id} {r.action} ({r.state})" for r in status.requests)
        lines.append(f"Requests: {escape_mrkdwn(asked)}")
    return "\n".join(lines)


def _money_in(currency: str) -> Callable[[int], str]:
    return lambda minor: Money(minor, currency).format()
