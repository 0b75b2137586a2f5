"""Queued messages rendered at delivery: notifications from Stripe facts, ephemeral replies.

Facts came from Stripe (or the ledger) and are escaped here; failures, disputes and
anything nobody approved are posted loudly (`@here`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot import messages
from bot.blocks.cards import CardView, requester_text
from bot.escape import escape_mrkdwn
from bot.findings import describe
from bot.grammar import usage_of_action
from governance.money import KNOWN_CURRENCIES, Money

Facts = dict[str, Any]
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")


def render_reply(body: dict[str, Any]) -> str:
    """An ephemeral answer: the core's words, escaped, and the usage line where one fits."""
    text = escape_mrkdwn(str(body.get("text", "")))
    usage = usage_of_action(str(body.get("usage_for")))
    return f"{text}\n{usage}" if usage else text


def render_direct(body: dict[str, Any], card: CardView) -> str:
    """A DM asking an approver to decide: which request, what it is, where its card is."""
    template = messages.DM_ESCALATION if body.get("why") == "escalation" else messages.DM_REMINDER
    fields = "; ".join(
        f"{escape_mrkdwn(label)}: {escape_mrkdwn(value, 120)}" for label, value in card.fields[:3]
    )
    channel = str(body.get("channel") or "")
    where = messages.DM_WHERE.format(channel=channel) if _CHANNEL_ID.fullmatch(channel) else ""
    return template.format(
        request_id=card.request_id,
        title=escape_mrkdwn(card.title),
        fields=fields,
        requester=requester_text(card),
        where=where,
    )


def render(body: dict[str, Any]) -> str:
    event, facts = str(body.get("event", "")), dict(body.get("facts", {}))
    write = _WRITERS.get(event)
    text = write(facts) if write else escape_mrkdwn(str(body.get("text", event)))
    return messages.NOTIFY_LOUD + text if body.get("loud") else text


def _invoice_paid(facts: Facts) -> str:
    template = (
        messages.NOTIFY_INVOICE_PAID_OUT_OF_BAND
        if facts.get("out_of_band")
        else messages.NOTIFY_INVOICE_PAID
    )
    text = template.format(
        invoice=_invoice(facts),
        amount=_amount(facts.get("amount_paid"), facts),
        client=_client(facts),
    )
    if facts.get("hosted_invoice_url"):
        text += " · " + messages.NOTIFY_LINK.format(url=escape_mrkdwn(facts["hosted_invoice_url"]))
    return text


def _about_invoice(template: str) -> Callable[[Facts], str]:
    def write(facts: Facts) -> str:
        return template.format(
            invoice=_invoice(facts),
            amount=_amount(facts.get("amount_due"), facts),
            client=_client(facts),
        )

    return write


def _charge_refunded(facts: Facts) -> str:
    return messages.NOTIFY_CHARGE_REFUNDED.format(
        amount=_amount(facts.get("amount_refunded"), facts),
        charge=escape_mrkdwn(str(facts.get("charge"))),
        client=_client(facts),
    )


def _subscription(facts: Facts) -> dict[str, str]:
    interval = escape_mrkdwn(str(facts.get("interval") or "period"))
    return {
        "subscription": escape_mrkdwn(str(facts.get("subscription"))),
        "plan": escape_mrkdwn(str(facts.get("plan") or "a plan"), 80),
        "price": f"{_amount(facts.get('amount'), facts)} a {interval}",
        "status": escape_mrkdwn(str(facts.get("status"))),
        "client": "",
    }


def _subscription_updated(facts: Facts) -> str:
    fields = _subscription(facts)
    if facts.get("status") in ("past_due", "unpaid", "canceled"):
        return messages.NOTIFY_SUBSCRIPTION_STATUS.format(**fields)
    if facts.get("cancel_at_period_end"):
        return messages.NOTIFY_SUBSCRIPTION_ENDING.format(**fields)
    return messages.NOTIFY_SUBSCRIPTION_RESUMED.format(**fields)


def _dispute(facts: Facts) -> str:
    return messages.NOTIFY_DISPUTE.format(
        invoice=escape_mrkdwn(str(facts.get("invoice") or "(unknown)")),
        amount=_amount(facts.get("amount"), facts),
        reason=escape_mrkdwn(str(facts.get("reason") or "not given")),
    )


def _dispute_closed(facts: Facts) -> str:
    return messages.NOTIFY_DISPUTE_CLOSED.format(
        dispute=escape_mrkdwn(str(facts.get("dispute"))),
        status=escape_mrkdwn(str(facts.get("status"))),
        amount=_amount(facts.get("amount"), facts),
    )


def _payment_failed(facts: Facts) -> str:
    note = facts.get("note")
    return messages.NOTIFY_PAYMENT_INTENT_FAILED.format(
        payment_intent=escape_mrkdwn(str(facts.get("payment_intent"))),
        amount=_amount(facts.get("amount"), facts),
        note=f": {escape_mrkdwn(str(note), 200)}" if note else "",
    )


def _audit_checkpoint(facts: Facts) -> str:
    entries, seq = facts.get("entries"), facts.get("seq")
    return messages.NOTIFY_AUDIT_CHECKPOINT.format(
        entries=f"{entries:,}" if isinstance(entries, int) else "?",
        seq=seq if isinstance(seq, int) else "?",
        hash=escape_mrkdwn(str(facts.get("hash")), 64),
    )


def _unapproved(facts: Facts) -> str:
    return messages.NOTIFY_UNAPPROVED.format(finding=escape_mrkdwn(describe(facts)))


def _policy_changed(facts: Facts) -> str:
    changes = [escape_mrkdwn(str(line), 300) for line in facts.get("changes") or []][:20]
    head = messages.NOTIFY_POLICY_CHANGED.format(
        digest=escape_mrkdwn(str(facts.get("digest", ""))[:12])
    )
    return "\n".join([head, *(f"• {line}" for line in changes)])


def _policy_refused(facts: Facts) -> str:
    problems = [escape_mrkdwn(str(line), 300) for line in facts.get("problems") or []][:10]
    head = messages.NOTIFY_POLICY_REFUSED.format(file=escape_mrkdwn(str(facts.get("file"))))
    return "\n".join([head, *(f"• {line}" for line in problems)])


def _rotation_due(facts: Facts) -> str:
    overdue = bool(facts.get("overdue"))
    line = messages.NOTIFY_ROTATION_OVERDUE_LINE if overdue else messages.NOTIFY_ROTATION_DUE_LINE
    lines = [
        line.format(
            name=escape_mrkdwn(str(entry.get("name")), 120),
            owner=escape_mrkdwn(str(entry.get("owner")), 120),
            due=escape_mrkdwn(str(entry.get("due", ""))[:10]),
        )
        for entry in (facts.get("secrets") or [])[:50]
        if isinstance(entry, dict)
    ]
    head = messages.NOTIFY_SECRETS_OVERDUE if overdue else messages.NOTIFY_SECRETS_DUE
    return "\n".join([head, *lines])


_WRITERS: dict[str, Callable[[Facts], str]] = {
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _about_invoice(messages.NOTIFY_PAYMENT_FAILED),
    "invoice.voided": _about_invoice(messages.NOTIFY_INVOICE_VOIDED),
    "invoice.marked_uncollectible": _about_invoice(messages.NOTIFY_INVOICE_UNCOLLECTIBLE),
    "invoice.overdue": _about_invoice(messages.NOTIFY_INVOICE_OVERDUE),
    "charge.refunded": _charge_refunded,
    "customer.subscription.created": lambda f: messages.NOTIFY_SUBSCRIPTION_STARTED.format(
        **_subscription(f)
    ),
    "customer.subscription.updated": _subscription_updated,
    "customer.subscription.deleted": lambda f: messages.NOTIFY_SUBSCRIPTION_ENDED.format(
        **_subscription(f)
    ),
    "charge.dispute.created": _dispute,
    "charge.dispute.closed": _dispute_closed,
    "payment_intent.payment_failed": _payment_failed,
    "reconcile.unapproved": _unapproved,
    "policy.changed": _policy_changed,
    "policy.refused": _policy_refused,
    "audit.checkpoint": _audit_checkpoint,
    "vault.rotation_due": _rotation_due,
}


def _invoice(facts: Facts) -> str:
    invoice = escape_mrkdwn(str(facts.get("invoice")))
    number = facts.get("number")
    return f"{invoice} ({escape_mrkdwn(str(number))})" if number else invoice


def _amount(minor: Any, facts: Facts) -> str:
    currency = str(facts.get("currency") or "").lower()
    if not isinstance(minor, int) or currency not in KNOWN_CURRENCIES:
        return "an unknown amount"
    return Money(minor, currency).format()


def _client(facts: Facts) -> str:
    email = facts.get("customer_email")
    return messages.NOTIFY_CLIENT.format(email=escape_mrkdwn(str(email))) if email else ""
