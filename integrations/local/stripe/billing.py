"""Customers, invoice items and invoices: what the fake does, and what it refuses, as Stripe."""

from __future__ import annotations

import contextlib
import copy
import secrets

from integrations.local.stripe import failures as fail
from integrations.local.stripe import objects as build
from integrations.local.stripe import payments as payments
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

DAY = 86_400


def create_customer(
    state: StripeState,
    email: str | None,
    name: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    if email is not None and "@" not in email:
        raise fail.invalid("email", f"Invalid email address: {email}", "email_invalid")
    customer = state.add(build.customer(state.now(), email, name, description, metadata))
    state.emit("customer.created", customer)
    return customer


def create_invoice(
    state: StripeState,
    customer_id: str,
    *,
    currency: str | None,
    collection_method: str,
    days_until_due: int | None,
    description: str | None,
    metadata: dict[str, str],
    auto_advance: bool,
    include_pending_items: bool,
) -> StripeObject:
    customer = state.get("customer", customer_id, param="customer")
    if collection_method == "send_invoice" and days_until_due is None:
        raise fail.missing("days_until_due")
    currency = currency or customer["currency"] or "usd"
    customer["currency"] = customer["currency"] or currency
    invoice = state.add(
        build.invoice(
            state.now(), customer, currency, collection_method, description, metadata, auto_advance
        )
    )
    state.hidden[invoice["id"]]["days_until_due"] = days_until_due
    if include_pending_items:
        for item in state.newest_first("invoiceitem"):
            if item["customer"] == customer_id and item["invoice"] is None:
                item["invoice"] = invoice["id"]
                invoice["lines"]["data"].append(build.line_item(item))
        recompute_totals(invoice)
    state.emit("invoice.created", invoice)
    return invoice


def create_invoice_item(
    state: StripeState,
    customer_id: str,
    invoice_id: str | None,
    amount: int,
    currency: str | None,
    description: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    customer = state.get("customer", customer_id, param="customer")
    invoice = state.get("invoice", invoice_id, param="invoice") if invoice_id else None
    if invoice is not None:
        if invoice["customer"] != customer_id:
            raise fail.invalid(
                "invoice", f"The invoice {invoice_id} does not belong to customer {customer_id}."
            )
        currency = currency or invoice["currency"]
        if currency != invoice["currency"]:
            raise fail.invalid(
                "currency",
                f"The currency of the invoice item ({currency}) must match the currency "
                f"of the invoice ({invoice['currency']}).",
            )
        if invoice["status"] != "draft":
            raise fail.refused(
                f"You can only add invoice items to draft invoices; {invoice_id} is "
                f"{invoice['status']}.",
                code="invoice_not_editable",
            )
    currency = currency or customer["currency"]
    if currency is None:
        raise fail.missing("currency")
    item = state.add(
        build.invoice_item(
            state.now(), customer_id, invoice_id, amount, currency, description, metadata
        )
    )
    state.emit("invoiceitem.created", item)
    if invoice is not None:
        before = copy.deepcopy(invoice)
        invoice["lines"]["data"].append(build.line_item(item))
        recompute_totals(invoice)
        state.emit("invoice.updated", invoice, before=before)
    return item


def recompute_totals(invoice: StripeObject) -> None:
    subtotal = sum(line["amount"] for line in invoice["lines"]["data"])
    for field in ("subtotal", "subtotal_excluding_tax", "total", "total_excluding_tax"):
        invoice[field] = subtotal
    invoice["amount_due"] = subtotal
    invoice["amount_remaining"] = subtotal - invoice["amount_paid"]


def finalize(state: StripeState, invoice_id: str) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "draft":
        raise fail.refused(
            "This invoice is already finalized, you can't re-finalize a non-draft invoice."
        )
    customer = state.get("customer", invoice["customer"])
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = sequence + 1
    now = state.now()
    token = f"test_{secrets.token_urlsafe(30)}"
    invoice.update(
        status="open",
        number=f"{customer['invoice_prefix']}-{sequence:04d}",
        hosted_invoice_url=f"https://invoice.stripe.com/i/acct_fake/{token}?s=ap",
        invoice_pdf=f"https://pay.stripe.com/invoice/acct_fake/{token}/pdf?s=ap",
        effective_at=now,
    )
    invoice["status_transitions"]["finalized_at"] = now
    days = state.hidden[invoice_id].get("days_until_due")
    if invoice["collection_method"] == "send_invoice" and days is not None:
        invoice["due_date"] = now + days * DAY
    state.emit("invoice.finalized", invoice)
    if invoice["amount_due"] == 0:
        # Stripe marks an invoice with nothing to pay as paid when it is finalized.
        mark_paid(state, invoice, 0)
    else:
        payments.open_payment(state, invoice)
    return invoice


def send(state: StripeState, invoice_id: str) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["collection_method"] != "send_invoice":
        raise fail.refused(
            "You can only manually send an invoice if its collection method is 'send_invoice'."
        )
    if invoice["status"] != "open":
        raise fail.refused(
            f"You can only send open invoices; invoice {invoice_id} is {invoice['status']}."
        )
    state.hidden[invoice_id]["sent"] = state.hidden[invoice_id].get("sent", 0) + 1
    state.emit("invoice.sent", invoice)
    return invoice


def pay(
    state: StripeState, invoice_id: str, *, out_of_band: bool, payment_method: str | None
) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] == "paid":
        raise fail.refused("Invoice is already paid")
    if invoice["status"] not in ("open", "uncollectible"):
        raise fail.refused(
            f"You can only pay open invoices; invoice {invoice_id} is {invoice['status']}.",
            code="invoice_not_open" if invoice["status"] == "draft" else None,
        )
    if out_of_band:
        payments.cancel_payment(state, invoice)
        mark_paid(state, invoice, invoice["amount_remaining"])
        return invoice
    payments.charge_invoice(state, invoice, payment_method or payable_method(state, invoice))
    mark_paid(state, invoice, invoice["amount_remaining"])
    state.emit("invoice.payment_succeeded", invoice)
    return invoice


def payable_method(state: StripeState, invoice: StripeObject) -> str:
    """What Stripe charges when no payment method is given: the invoice's default, then
    its subscription's, then the customer's invoice default."""
    subscription = subscription_of(state, invoice)
    for method in (
        invoice["default_payment_method"],
        subscription["default_payment_method"] if subscription else None,
        state.get("customer", invoice["customer"])["invoice_settings"]["default_payment_method"],
    ):
        if isinstance(method, str):
            return method
    raise fail.refused(NO_PAYMENT_METHOD)


NO_PAYMENT_METHOD = (
    "This customer has no attached payment source or default payment method. Please "
    "consider adding a default payment method. For more information, visit "
    "https://stripe.com/docs/billing/subscriptions/payment-methods-setting"
    "#payment-method-priority."
)


def subscription_of_id(invoice: StripeObject) -> str | None:
    details = (invoice["parent"] or {}).get("subscription_details") or {}
    subscription_id = details.get("subscription")
    return subscription_id if isinstance(subscription_id, str) else None


def subscription_of(state: StripeState, invoice: StripeObject) -> StripeObject | None:
    subscription_id = subscription_of_id(invoice)
    return state.objects.get(subscription_id) if subscription_id else None


def mark_paid(state: StripeState, invoice: StripeObject, amount: int) -> None:
    invoice["amount_paid"] += amount
    invoice["amount_remaining"] = invoice["amount_due"] - invoice["amount_paid"]
    invoice["status"] = "paid"
    invoice["status_transitions"]["paid_at"] = state.now()
    state.emit("invoice.paid", invoice)
    _settle_subscription(state, invoice)


def _settle_subscription(state: StripeState, invoice: StripeObject) -> None:
    """A subscription waiting on its latest invoice is active once that invoice is paid."""
    subscription = subscription_of(state, invoice)
    if (
        subscription is None
        or subscription["latest_invoice"] != invoice["id"]
        or subscription["status"] not in ("incomplete", "past_due", "unpaid")
        or state.hidden[subscription["id"]].get("billing")  # its own billing run reports it
    ):
        return
    before = copy.deepcopy(subscription)
    subscription["status"] = "active"
    state.emit("customer.subscription.updated", subscription, before=before)


def fail_payment(state: StripeState, invoice_id: str) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "open":
        raise fail.refused(f"Invoice {invoice_id} is {invoice['status']}, not open.")
    # The decline is the point: the failed charge and the events stay, the error goes.
    with contextlib.suppress(fail.StripeFailure):
        payments.charge_invoice(state, invoice, payments.DECLINING_CARD)
    return invoice


def void(state: StripeState, invoice_id: str) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] not in ("open", "uncollectible"):
        raise fail.refused(
            f"You can only void open invoices; invoice {invoice_id} is {invoice['status']}."
        )
    payments.cancel_payment(state, invoice)
    invoice["status"] = "void"
    invoice["status_transitions"]["voided_at"] = state.now()
    state.emit("invoice.voided", invoice)
    return invoice


def mark_uncollectible(state: StripeState, invoice_id: str) -> StripeObject:
    invoice = state.get("invoice", invoice_id)
    if invoice["status"] != "open":
        raise fail.refused(
            f"You can only mark open invoices as uncollectible; invoice {invoice_id} is "
            f"{invoice['status']}."
        )
    before = copy.deepcopy(invoice)
    invoice["status"] = "uncollectible"
    invoice["status_transitions"]["marked_uncollectible_at"] = state.now()
    state.emit("invoice.marked_uncollectible", invoice, before=before)
    return invoice


def flag_overdue(state: StripeState) -> None:
    """`invoice.overdue`, once, for each open invoice sent for payment past its due date."""
    now = state.now()
    for invoice in reversed(state.newest_first("invoice")):
        hidden = state.hidden[invoice["id"]]
        due = invoice["due_date"]
        if (
            invoice["status"] == "open"
            and due is not None
            and due < now
            and not hidden.get("overdue")
        ):
            hidden["overdue"] = True
            state.emit("invoice.overdue", invoice)
