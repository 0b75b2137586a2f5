"""Products, prices, subscriptions, payment methods and disputes, built from Stripe's fixtures.

As in `stripe_objects`, each builder deep-copies the fixture and overrides what a fresh
object of that kind holds.
"""

from __future__ import annotations

import copy
from typing import Any

from integrations.local.stripe.objects import StripeObject, list_of, new_id, template

DAY = 86_400


def product(
    created: int, name: str, description: str | None, active: bool, metadata: dict[str, str]
) -> StripeObject:
    obj = template("product")
    obj.update(
        id=new_id("prod"),
        created=created,
        updated=created,
        name=name,
        description=description,
        active=active,
        metadata=metadata,
        default_price=None,
        images=[],
        marketing_features=[],
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=None,
        unit_label=None,
        url=None,
        type="service",
    )
    return obj


def price(
    created: int,
    product_id: str,
    unit_amount: int,
    currency: str,
    recurring: dict[str, Any] | None,
    lookup_key: str | None,
    nickname: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    obj = template("price")
    obj.update(
        id=new_id("price"),
        created=created,
        product=product_id,
        unit_amount=unit_amount,
        unit_amount_decimal=str(unit_amount),
        currency=currency,
        lookup_key=lookup_key,
        nickname=nickname,
        metadata=metadata,
        active=True,
        custom_unit_amount=None,
        transform_quantity=None,
        type="recurring" if recurring else "one_time",
        recurring=None
        if recurring is None
        else {
            "interval": recurring["interval"],
            "interval_count": recurring["interval_count"],
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        },
    )
    return obj


def plan(of_price: StripeObject) -> StripeObject:
    """The legacy plan Stripe still shows beside a recurring price on subscription items."""
    obj = template("plan")
    recurring = of_price["recurring"]
    obj.update(
        id=of_price["id"],
        created=of_price["created"],
        active=of_price["active"],
        amount=of_price["unit_amount"],
        amount_decimal=of_price["unit_amount_decimal"],
        billing_scheme="per_unit",
        currency=of_price["currency"],
        interval=recurring["interval"],
        interval_count=recurring["interval_count"],
        livemode=False,
        metadata=dict(of_price["metadata"]),
        nickname=of_price["nickname"],
        product=of_price["product"],
        tiers_mode=None,
        transform_usage=None,
        trial_period_days=None,
        usage_type="licensed",
    )
    return obj


def subscription_item(
    created: int, subscription_id: str, of_price: StripeObject, start: int, end: int
) -> StripeObject:
    obj = template("subscription_item")
    obj.update(
        id=new_id("si"),
        created=created,
        subscription=subscription_id,
        price=copy.deepcopy(of_price),
        plan=plan(of_price),
        quantity=1,
        metadata={},
        discounts=[],
        tax_rates=[],
        billing_thresholds=None,
        current_period_start=start,
        current_period_end=end,
    )
    return obj


def subscription(
    created: int,
    customer_id: str,
    of_price: StripeObject,
    period_end: int,
    *,
    collection_method: str,
    days_until_due: int | None,
    default_payment_method: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    obj = template("subscription")
    subscription_id = new_id("sub")
    item = subscription_item(created, subscription_id, of_price, created, period_end)
    obj.update(
        id=subscription_id,
        created=created,
        start_date=created,
        billing_cycle_anchor=created,
        billing_cycle_anchor_config=None,
        customer=customer_id,
        currency=of_price["currency"],
        collection_method=collection_method,
        days_until_due=days_until_due,
        default_payment_method=default_payment_method,
        description=description,
        metadata=metadata,
        items=list_of([item], f"/v1/subscription_items?subscription={subscription_id}"),
        status="incomplete",
        latest_invoice=None,
        cancel_at=None,
        cancel_at_period_end=False,
        canceled_at=None,
        ended_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        discounts=[],
        default_tax_rates=[],
        next_pending_invoice_item_invoice=None,
        pause_collection=None,
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        pending_invoice_item_interval=None,
        pending_setup_intent=None,
        pending_update=None,
        transfer_data=None,
        trial_end=None,
        trial_start=None,
        billing_thresholds=None,
        billing_mode={"type": "classic", "flexible": None},
        managed_payments={"enabled": False},
        billing_schedules=[],
        invoice_settings={
            "account_tax_ids": None,
            "issuer": {"type": "self"},
            "custom_fields": None,
            "description": None,
            "footer": None,
        },
    )
    return obj


def subscription_line(
    invoice_id: str, subscription: StripeObject, product_name: str, start: int, end: int
) -> StripeObject:
    item = subscription["items"]["data"][0]
    of_price = item["price"]
    obj = template("line_item")
    obj.update(
        id=new_id("il"),
        invoice=invoice_id,
        amount=of_price["unit_amount"],
        currency=of_price["currency"],
        description=f"1 × {product_name} (at {_per_interval(of_price)})",
        metadata=dict(subscription["metadata"]),
        period={"start": start, "end": end},
        quantity=1,
        quantity_decimal="1",
        subtotal=of_price["unit_amount"],
        subscription=None,
        pricing={"type": "price_details", "unit_amount_decimal": of_price["unit_amount_decimal"]},
        pretax_credit_amounts=[],
        taxes=[],
        discount_amounts=[],
        discounts=[],
        parent={
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": item["id"],
            },
        },
    )
    return obj


def _per_interval(of_price: StripeObject) -> str:
    recurring = of_price["recurring"]
    count, unit = recurring["interval_count"], recurring["interval"]
    every = unit if count == 1 else f"{count} {unit}s"
    amount = of_price["unit_amount"]
    return f"{amount / 100:.2f} {of_price['currency'].upper()} / {every}"


def subscription_parent(subscription: StripeObject) -> StripeObject:
    return {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {
            "metadata": dict(subscription["metadata"]),
            "subscription": subscription["id"],
        },
    }


def payment_method(
    created: int, customer_id: str, email: str | None, name: str | None, last4: str
) -> StripeObject:
    obj = template("payment_method")
    card = copy.deepcopy(obj["card"])
    card.update(last4=last4, generated_from=None, wallet=None, exp_year=2034)
    obj.update(
        id=new_id("pm"),
        created=created,
        customer=customer_id,
        metadata={},
        card=card,
        billing_details={
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": email,
            "name": name,
            "phone": None,
            "tax_id": None,
        },
    )
    return obj


def dispute(
    created: int, charge: StripeObject, amount: int, reason: str, respond_within_days: int = 21
) -> StripeObject:
    obj = template("dispute")
    evidence_details = dict(obj["evidence_details"])
    evidence_details.update(due_by=created + respond_within_days * DAY, has_evidence=False)
    obj.update(
        id=new_id("du"),
        created=created,
        amount=amount,
        charge=charge["id"],
        currency=charge["currency"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="needs_response",
        metadata={},
        balance_transactions=[],
        is_charge_refundable=False,
        evidence_details=evidence_details,
        enhanced_eligibility_types=[],
    )
    return obj
