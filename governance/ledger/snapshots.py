"""Stripe objects (as JSON) read into ledger columns; nothing here touches the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
ACTION_KEY = "empire_action_id"


def when(timestamp: Any) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), UTC) if timestamp else None


def object_id(value: Any) -> str | None:
    """An id whether the field holds it plain or as an expanded object."""
    if isinstance(value, dict):
        return str(value.get("id")) if value.get("id") else None
    return str(value) if value else None


def _action(obj: Json) -> str | None:
    return (obj.get("metadata") or {}).get(ACTION_KEY)


def invoice_subscription(obj: Json) -> str | None:
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return object_id(details.get("subscription"))


def invoice_columns(obj: Json) -> Json:
    transitions = obj.get("status_transitions") or {}
    return {
        "customer": object_id(obj.get("customer")),
        "customer_email": obj.get("customer_email"),
        "subscription": invoice_subscription(obj),
        "number": obj.get("number"),
        "status": str(obj.get("status") or "draft"),
        "currency": str(obj.get("currency") or "usd"),
        "amount_due": int(obj.get("amount_due") or 0),
        "amount_paid": int(obj.get("amount_paid") or 0),
        "amount_remaining": int(obj.get("amount_remaining") or 0),
        "created_at": when(obj.get("created")) or datetime.now(UTC),
        "due_at": when(obj.get("due_date")),
        "finalized_at": when(transitions.get("finalized_at")),
        "paid_at": when(transitions.get("paid_at")),
        "voided_at": when(transitions.get("voided_at")),
        "hosted_invoice_url": obj.get("hosted_invoice_url"),
        "invoice_pdf": obj.get("invoice_pdf"),
        "action_uid": _action(obj),
    }


def refund_columns(obj: Json) -> Json:
    return {
        "payment_intent": object_id(obj.get("payment_intent")),
        "charge": object_id(obj.get("charge")),
        "customer": object_id(obj.get("customer")),
        "status": str(obj.get("status") or "pending"),
        "currency": str(obj.get("currency") or "usd"),
        "amount": int(obj.get("amount") or 0),
        "created_at": when(obj.get("created")) or datetime.now(UTC),
        "action_uid": _action(obj),
    }


def dispute_columns(obj: Json) -> Json:
    return {
        "charge": object_id(obj.get("charge")),
        "payment_intent": object_id(obj.get("payment_intent")),
        "status": str(obj.get("status") or "needs_response"),
        "reason": obj.get("reason"),
        "currency": str(obj.get("currency") or "usd"),
        "amount": int(obj.get("amount") or 0),
        "created_at": when(obj.get("created")) or datetime.now(UTC),
    }


def subscription_columns(obj: Json) -> Json:
    items = (obj.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    recurring = price.get("recurring") or {}
    product = price.get("product")
    plan = (product.get("name") if isinstance(product, dict) else None) or price.get("nickname")
    return {
        "customer": object_id(obj.get("customer")),
        "status": str(obj.get("status") or "incomplete"),
        "plan": plan or object_id(product),
        "currency": str(price.get("currency") or obj.get("currency") or "usd"),
        "amount": int(price.get("unit_amount") or 0) * int(item.get("quantity") or 1),
        "interval": str(recurring.get("interval") or "month"),
        "interval_count": int(recurring.get("interval_count") or 1),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "current_period_end": when(item.get("current_period_end")),
        "started_at": when(obj.get("start_date") or obj.get("created")) or datetime.now(UTC),
        "canceled_at": when(obj.get("canceled_at")),
        "ended_at": when(obj.get("ended_at")),
        "action_uid": _action(obj),
    }
