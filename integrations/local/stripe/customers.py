"""Changes to customers, and the cards they save: what the fake does, and refuses, as Stripe."""

from __future__ import annotations

import copy

from integrations.local.stripe import catalog_objects as build
from integrations.local.stripe import failures as fail
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

WORKING_LAST4 = "4242"
DECLINING_LAST4 = "0002"  # Stripe's test card that is always declined


def update_customer(
    state: StripeState,
    customer_id: str,
    changes: dict[str, object],
    metadata: dict[str, str] | None,
    default_payment_method: str | None,
) -> StripeObject:
    customer = state.get("customer", customer_id)
    email = changes.get("email")
    if isinstance(email, str) and "@" not in email:
        raise fail.invalid("email", f"Invalid email address: {email}", "email_invalid")
    if default_payment_method is not None:
        _check_attached(state, customer_id, default_payment_method)
    before = copy.deepcopy(customer)
    customer.update(changes)
    if metadata is not None:
        customer["metadata"] = metadata
    if default_payment_method is not None:
        customer["invoice_settings"]["default_payment_method"] = default_payment_method
    state.emit("customer.updated", customer, before=before)
    return customer


def _check_attached(state: StripeState, customer_id: str, payment_method_id: str) -> None:
    param = "invoice_settings[default_payment_method]"
    method = state.get("payment_method", payment_method_id, param=param)
    if method["customer"] != customer_id:
        raise fail.invalid(
            param,
            f"The customer does not have a payment method with the ID {payment_method_id}. "
            "The payment method must be attached to the customer.",
        )


def attach_card(state: StripeState, customer_id: str, *, declines: bool = False) -> StripeObject:
    """A card saved to the customer and made the default for their invoices."""
    customer = state.get("customer", customer_id)
    last4 = DECLINING_LAST4 if declines else WORKING_LAST4
    method = state.add(
        build.payment_method(state.now(), customer_id, customer["email"], customer["name"], last4)
    )
    state.hidden[method["id"]]["declines"] = declines
    state.emit("payment_method.attached", method)
    update_customer(state, customer_id, {}, None, method["id"])
    return method


def default_payment_method(state: StripeState, customer_id: str) -> str | None:
    customer = state.get("customer", customer_id)
    method = customer["invoice_settings"]["default_payment_method"]
    return method if isinstance(method, str) else None
