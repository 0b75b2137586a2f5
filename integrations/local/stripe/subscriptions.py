"""Subscriptions: created with their first invoice, renewed and ended as the clock moves.

A subscription bills its one price each period, in advance: on creation (billing reason
`subscription_create`) and at every period end (`subscription_cycle`). The invoice is
charged to the default payment method (`charge_automatically`) or sent (`send_invoice`).
Periods follow the billing cycle anchor: a month is a calendar month from the anchor (the
31st falls back to the month's last day), a year a calendar year, a week 7 days.
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime

from integrations.local.stripe import billing as billing
from integrations.local.stripe import catalog_objects as build
from integrations.local.stripe import customers as customers
from integrations.local.stripe import failures as fail
from integrations.local.stripe import objects as invoices
from integrations.local.stripe import payments as payments
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

DAY = 86_400
COLLECTION_METHODS = ("charge_automatically", "send_invoice")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "default_incomplete",
    "error_if_incomplete",
    "pending_if_incomplete",
)
STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
BILLED = ("active", "past_due", "trialing", "unpaid")  # renewed at each period end
ENDED = ("canceled", "incomplete_expired")


def period_end(anchor: int, price: StripeObject, periods: int) -> int:
    """The end of the `periods`-th period from `anchor`, in the price's interval."""
    recurring = price["recurring"]
    steps = periods * recurring["interval_count"]
    interval = recurring["interval"]
    if interval in ("day", "week"):
        return int(anchor + steps * DAY * (7 if interval == "week" else 1))
    start = datetime.fromtimestamp(anchor, UTC)
    months = start.month - 1 + steps * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


# -- creating -----------------------------------------------------------------------------


def create(
    state: StripeState,
    customer_id: str,
    price_id: str,
    *,
    collection_method: str,
    days_until_due: int | None,
    default_payment_method: str | None,
    payment_behavior: str,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    customer = state.get("customer", customer_id, param="customer")
    price = _billable_price(state, price_id)
    _check_collection(collection_method, days_until_due, payment_behavior)
    if default_payment_method is not None:
        _check_attached(state, customer_id, default_payment_method)
    if payment_behavior == "error_if_incomplete" and collection_method == COLLECTION_METHODS[0]:
        _check_chargeable(state, customer_id, default_payment_method, price)
    now = state.now()
    subscription = state.add(
        build.subscription(
            now,
            customer_id,
            price,
            period_end(now, price, 1),
            collection_method=collection_method,
            days_until_due=days_until_due,
            default_payment_method=default_payment_method,
            description=description,
            metadata=metadata,
        )
    )
    customer["currency"] = customer["currency"] or price["currency"]
    hidden = state.hidden[subscription["id"]]
    hidden.update(periods=1, billing=True)
    invoice = _bill(state, subscription, "subscription_create", now, now)
    paid = _collect(state, subscription, invoice, attempt=payment_behavior != "default_incomplete")
    sent = collection_method == "send_invoice"
    subscription["status"] = "active" if paid or sent else "incomplete"
    hidden["billing"] = False
    state.emit("customer.subscription.created", subscription)
    return subscription


def _billable_price(state: StripeState, price_id: str) -> StripeObject:
    param = "items[0][price]"
    price = state.get("price", price_id, param=param)
    if price["type"] != "recurring":
        raise fail.invalid(
            param,
            "The price specified is set to `type=one_time` but this field only accepts "
            "prices with `type=recurring`.",
        )
    if not price["active"]:
        raise fail.invalid(
            param, "The price specified is inactive. This field only accepts active prices."
        )
    return price


def _check_collection(method: str, days_until_due: int | None, behavior: str) -> None:
    if method == "send_invoice" and days_until_due is None:
        raise fail.missing("days_until_due")
    if method != "send_invoice" and days_until_due is not None:
        raise fail.invalid(
            "days_until_due",
            "You may only specify days_until_due when collection_method is send_invoice.",
        )
    if behavior == "pending_if_incomplete":
        raise fail.invalid(
            "payment_behavior",
            "payment_behavior=pending_if_incomplete can only be used when updating a subscription.",
        )


def _check_attached(state: StripeState, customer_id: str, payment_method_id: str) -> None:
    method = state.get("payment_method", payment_method_id, param="default_payment_method")
    if method["customer"] != customer_id:
        raise fail.invalid(
            "default_payment_method",
            f"The customer does not have a payment method with the ID {payment_method_id}. "
            "The payment method must be attached to the customer.",
        )


def _check_chargeable(
    state: StripeState, customer_id: str, payment_method: str | None, price: StripeObject
) -> None:
    """With `error_if_incomplete`, a first payment that cannot succeed creates nothing."""
    if price["unit_amount"] == 0:
        return
    method = payment_method or customers.default_payment_method(state, customer_id)
    if method is None:
        raise fail.refused(billing.NO_PAYMENT_METHOD)
    if payments.declines(state, method):
        raise fail.card_declined()


# -- billing a period ---------------------------------------------------------------------


def _bill(
    state: StripeState, subscription: StripeObject, reason: str, start: int, end: int
) -> StripeObject:
    """The period's invoice, created and finalized (a zero invoice is paid at once)."""
    customer = state.get("customer", subscription["customer"])
    item = subscription["items"]["data"][0]
    invoice = state.add(
        invoices.invoice(
            state.now(),
            customer,
            subscription["currency"],
            subscription["collection_method"],
            None,
            {},
            True,
        )
    )
    invoice.update(
        billing_reason=reason,
        parent=build.subscription_parent(subscription),
        period_start=start,
        period_end=end,
    )
    state.hidden[invoice["id"]]["days_until_due"] = subscription["days_until_due"]
    product = state.objects.get(item["price"]["product"]) or {"name": item["price"]["product"]}
    line = build.subscription_line(
        invoice["id"],
        subscription,
        product["name"],
        item["current_period_start"],
        item["current_period_end"],
    )
    invoice["lines"]["data"].append(line)
    billing.recompute_totals(invoice)
    state.emit("invoice.created", invoice)
    subscription["latest_invoice"] = invoice["id"]
    billing.finalize(state, invoice["id"])
    return invoice


def _collect(
    state: StripeState, subscription: StripeObject, invoice: StripeObject, *, attempt: bool = True
) -> bool:
    """Send or charge the period's invoice; whether it is paid."""
    if invoice["status"] == "paid":
        return True
    if subscription["collection_method"] == "send_invoice":
        billing.send(state, invoice["id"])
        return False
    if not attempt:
        return False
    method = subscription["default_payment_method"] or customers.default_payment_method(
        state, subscription["customer"]
    )
    if method is None:
        invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1)
        state.emit("invoice.payment_failed", invoice)
        return False
    try:
        billing.pay(state, invoice["id"], out_of_band=False, payment_method=method)
    except fail.StripeFailure:
        return False  # the failed charge and its events stay
    return True


# -- changing and cancelling ----------------------------------------------------------------


def update(
    state: StripeState,
    subscription_id: str,
    *,
    cancel_at_period_end: bool | None,
    default_payment_method: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    subscription = state.get("subscription", subscription_id)
    ended = subscription["status"] in ENDED
    if ended and (cancel_at_period_end is not None or default_payment_method or description):
        raise fail.refused(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    if default_payment_method is not None:
        _check_attached(state, subscription["customer"], default_payment_method)
    before = copy.deepcopy(subscription)
    if cancel_at_period_end is not None:
        _set_cancel_at_period_end(state, subscription, cancel_at_period_end)
    if default_payment_method is not None:
        subscription["default_payment_method"] = default_payment_method
    if description is not None:
        subscription["description"] = description
    subscription["metadata"] = metadata
    if subscription != before:
        state.emit("customer.subscription.updated", subscription, before=before)
    return subscription


def _set_cancel_at_period_end(state: StripeState, subscription: StripeObject, on: bool) -> None:
    if subscription["cancel_at_period_end"] == on:
        return
    end = subscription["items"]["data"][0]["current_period_end"]
    subscription.update(
        cancel_at_period_end=on,
        cancel_at=end if on else None,
        canceled_at=state.now() if on else None,
        cancellation_details={
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested" if on else None,
        },
    )


def cancel(state: StripeState, subscription_id: str) -> StripeObject:
    """Cancel now (`DELETE`); Stripe treats a cancelled subscription as gone."""
    subscription = state.get("subscription", subscription_id)
    if subscription["status"] in ENDED:
        raise fail.no_such("subscription", subscription_id)
    was_incomplete = subscription["status"] == "incomplete"
    now = state.now()
    subscription.update(status="canceled", canceled_at=now, ended_at=now)
    subscription["cancellation_details"]["reason"] = "cancellation_requested"
    latest = state.objects.get(subscription["latest_invoice"] or "")
    if was_incomplete and latest is not None and latest["status"] == "open":
        billing.void(state, latest["id"])  # an unstarted subscription's invoice is voided
    state.emit("customer.subscription.deleted", subscription)
    return subscription


# -- the clock ----------------------------------------------------------------------------


def run_clock(state: StripeState) -> None:
    """Renew or end, in time order, every subscription whose period has ended by now."""
    while True:
        now = state.now()
        due = [
            sub
            for sub in state.newest_first("subscription")
            if sub["status"] in BILLED and sub["items"]["data"][0]["current_period_end"] <= now
        ]
        if not due:
            return
        subscription = min(due, key=lambda sub: sub["items"]["data"][0]["current_period_end"])
        if subscription["cancel_at_period_end"]:
            _end(state, subscription)
        else:
            _renew(state, subscription)


def _renew(state: StripeState, subscription: StripeObject) -> None:
    before = copy.deepcopy(subscription)
    item = subscription["items"]["data"][0]
    hidden = state.hidden[subscription["id"]]
    hidden["periods"] += 1
    old_start, old_end = item["current_period_start"], item["current_period_end"]
    new_end = period_end(subscription["billing_cycle_anchor"], item["price"], hidden["periods"])
    item.update(current_period_start=old_end, current_period_end=new_end)
    hidden["billing"] = True
    invoice = _bill(state, subscription, "subscription_cycle", old_start, old_end)
    paid = _collect(state, subscription, invoice)
    hidden["billing"] = False
    if paid:
        subscription["status"] = "active"
    elif subscription["collection_method"] == "charge_automatically":
        subscription["status"] = "past_due"
    state.emit("customer.subscription.updated", subscription, before=before)


def _end(state: StripeState, subscription: StripeObject) -> None:
    end = subscription["items"]["data"][0]["current_period_end"]
    subscription.update(status="canceled", ended_at=end)
    state.emit("customer.subscription.deleted", subscription)
