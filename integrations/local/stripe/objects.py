"""Stripe objects built from Stripe's own example objects (stripe-fixtures3.json, beside this).

Each builder deep-copies the fixture and overrides what a fresh object of that kind
holds, so every answer has the real shape even where the fake has nothing to say.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "stripe-fixtures3.json"
_ID_ALPHABET = string.ascii_letters + string.digits

StripeObject = dict[str, Any]


@cache
def _fixtures() -> dict[str, StripeObject]:
    resources: dict[str, StripeObject] = json.loads(FIXTURES.read_text())["resources"]
    return resources


def template(kind: str) -> StripeObject:
    return copy.deepcopy(_fixtures()[kind])


def new_id(prefix: str) -> str:
    return f"{prefix}_1" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(23))


def list_of(data: list[StripeObject], url: str, *, has_more: bool = False) -> StripeObject:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def customer(
    created: int,
    email: str | None,
    name: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    obj = template("customer")
    obj.update(
        id=new_id("cus"),
        created=created,
        email=email,
        name=name,
        description=description,
        metadata=metadata,
        currency=None,
        discount=None,
        address=None,
        shipping=None,
        invoice_prefix="".join(secrets.choice("0123456789ABCDEF") for _ in range(8)),
    )
    return obj


def invoice(
    created: int,
    customer: StripeObject,
    currency: str,
    collection_method: str,
    description: str | None,
    metadata: dict[str, str],
    auto_advance: bool,
) -> StripeObject:
    obj = template("invoice")
    invoice_id = new_id("in")
    obj.update(
        id=invoice_id,
        created=created,
        customer=customer["id"],
        currency=currency,
        collection_method=collection_method,
        description=description,
        metadata=metadata,
        auto_advance=auto_advance,
        status="draft",
        number=None,
        account_name="Business Empire",
        amount_due=0,
        amount_paid=0,
        amount_remaining=0,
        amount_overpaid=0,
        subtotal=0,
        subtotal_excluding_tax=0,
        total=0,
        total_excluding_tax=0,
        attempt_count=0,
        attempted=False,
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_address=None,
        customer_shipping=None,
        due_date=None,
        effective_at=None,
        from_invoice=None,
        hosted_invoice_url=None,
        invoice_pdf=None,
        last_finalization_error=None,
        next_payment_attempt=None,
        parent=None,
        period_end=created,
        period_start=created,
        shipping_cost=None,
        shipping_details=None,
        webhooks_delivered_at=None,
        total_taxes=[],
        total_pretax_credit_amounts=[],
        lines=list_of([], f"/v1/invoices/{invoice_id}/lines"),
        payment_settings={
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        status_transitions={
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
    )
    return obj


def invoice_item(
    created: int,
    customer_id: str,
    invoice_id: str | None,
    amount: int,
    currency: str,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    obj = template("invoiceitem")
    obj.update(
        id=new_id("ii"),
        date=created,
        customer=customer_id,
        invoice=invoice_id,
        amount=amount,
        currency=currency,
        description=description,
        metadata=metadata,
        parent=None,
        period={"start": created, "end": created},
        net_amount=amount,
        quantity_decimal="1",
        pricing={"type": "price_details", "unit_amount_decimal": str(amount)},
    )
    return obj


def line_item(item: StripeObject) -> StripeObject:
    obj = template("line_item")
    obj.update(
        id=new_id("il"),
        invoice=item["invoice"],
        amount=item["amount"],
        currency=item["currency"],
        description=item["description"],
        metadata=dict(item["metadata"]),
        period=dict(item["period"]),
        subtotal=item["amount"],
        pricing=dict(item["pricing"]),
        pretax_credit_amounts=[],
        taxes=[],
        parent={
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": item["id"],
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
        },
    )
    return obj


def payment_intent(
    created: int, amount: int, currency: str, customer_id: str, description: str | None
) -> StripeObject:
    obj = template("payment_intent")
    intent_id = new_id("pi")
    obj.update(
        id=intent_id,
        created=created,
        amount=amount,
        currency=currency,
        customer=customer_id,
        description=description,
        amount_received=0,
        canceled_at=None,
        client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
        last_payment_error=None,
        latest_charge=None,
        next_action=None,
        processing=None,
        transfer_data=None,
        payment_method_configuration_details=None,
        managed_payments={"enabled": False},
        status="requires_payment_method",
    )
    return obj


def charge(
    created: int, intent: StripeObject, payment_method: str, succeeded: bool
) -> StripeObject:
    obj = template("charge")
    charge_id = new_id("ch")
    amount = intent["amount"] if succeeded else 0
    obj.update(
        id=charge_id,
        created=created,
        amount=intent["amount"],
        amount_captured=amount,
        amount_refunded=0,
        captured=succeeded,
        paid=succeeded,
        refunded=False,
        currency=intent["currency"],
        customer=intent["customer"],
        description=intent["description"],
        payment_intent=intent["id"],
        payment_method=payment_method,
        balance_transaction=new_id("txn") if succeeded else None,
        status="succeeded" if succeeded else "failed",
        failure_code=None if succeeded else "card_declined",
        failure_message=None if succeeded else "Your card was declined.",
        receipt_url=f"https://pay.stripe.com/receipts/payment/{secrets.token_urlsafe(24)}",
        refunds=list_of([], f"/v1/charges/{charge_id}/refunds"),
        source=None,
        transfer_data=None,
        billing_details={**obj["billing_details"], "name": None},
        outcome={
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None if succeeded else "generic_decline",
            "seller_message": "Payment complete." if succeeded else "The bank declined.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
    )
    return obj


def invoice_payment(created: int, invoice: StripeObject, intent_id: str) -> StripeObject:
    obj = template("invoice_payment")
    obj.update(
        id=new_id("inpay"),
        created=created,
        invoice=invoice["id"],
        currency=invoice["currency"],
        amount_requested=invoice["amount_remaining"],
        amount_paid=None,
        livemode=False,
        is_default=True,
        status="open",
        payment={"type": "payment_intent", "payment_intent": intent_id},
    )
    return obj


def refund(
    created: int,
    paid_charge: StripeObject,
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    obj = template("refund")
    obj.update(
        id=new_id("re"),
        created=created,
        amount=amount,
        charge=paid_charge["id"],
        currency=paid_charge["currency"],
        payment_intent=paid_charge["payment_intent"],
        reason=reason,
        metadata=metadata,
        balance_transaction=new_id("txn"),
        status="succeeded",
        customer=paid_charge["customer"],
        payment_method=paid_charge["payment_method"],
    )
    return obj


def event(
    created: int,
    type_: str,
    snapshot: StripeObject,
    api_version: str,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
    previous: dict[str, Any] | None = None,
) -> StripeObject:
    obj = template("event")
    data: dict[str, Any] = {"object": snapshot}
    if previous is not None:
        data["previous_attributes"] = previous
    obj.update(
        id=new_id("evt"),
        created=created,
        type=type_,
        data=data,
        api_version=api_version,
        request={"id": request_id, "idempotency_key": idempotency_key},
        pending_webhooks=pending_webhooks,
    )
    return obj
