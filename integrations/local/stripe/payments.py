"""Payment intents, charges, invoice payments and refunds, kept consistent with each other.

A finalized invoice gets an open payment intent and a default invoice payment, as in
Stripe; paying it adds a charge; refunds draw down that charge's captured amount.
Stripe's test payment methods decide the outcome: `pm_card_chargeDeclined` is declined.
"""

from __future__ import annotations

import copy

from integrations.local.stripe import failures as fail
from integrations.local.stripe import objects as build
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

WORKING_CARD = "pm_card_visa"
DECLINING_CARD = "pm_card_chargeDeclined"
REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


def open_payment(state: StripeState, invoice: StripeObject) -> None:
    intent = state.add(
        build.payment_intent(
            state.now(),
            invoice["amount_remaining"],
            invoice["currency"],
            invoice["customer"],
            f"Invoice {invoice['number']}",
        )
    )
    state.emit("payment_intent.created", intent)
    payment = state.add(build.invoice_payment(state.now(), invoice, intent["id"]))
    state.hidden[invoice["id"]]["invoice_payment"] = payment["id"]


def default_payment(state: StripeState, invoice: StripeObject) -> tuple[StripeObject, StripeObject]:
    payment = state.get("invoice_payment", state.hidden[invoice["id"]]["invoice_payment"])
    return payment, state.get("payment_intent", payment["payment"]["payment_intent"])


def declines(state: StripeState, payment_method: str) -> bool:
    """Whether charging this payment method fails: a declining card, or Stripe's test one."""
    saved = state.objects.get(payment_method)
    if saved is not None and saved["object"] == "payment_method":
        return bool(state.hidden[payment_method].get("declines", False))
    return "Declined" in payment_method


def charge_invoice(state: StripeState, invoice: StripeObject, payment_method: str) -> None:
    """Charge the invoice's open payment; a declined card raises Stripe's 402 afterwards."""
    payment, intent = default_payment(state, invoice)
    declined = declines(state, payment_method)
    charge = state.add(build.charge(state.now(), intent, payment_method, not declined))
    intent.update(latest_charge=charge["id"], payment_method=payment_method)
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    if declined:
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "generic_decline",
            "message": "Your card was declined.",
            "charge": charge["id"],
        }
        state.emit("charge.failed", charge)
        state.emit("payment_intent.payment_failed", intent)
        state.emit("invoice.payment_failed", invoice)
        raise fail.card_declined(charge["id"])
    intent.update(status="succeeded", amount_received=intent["amount"])
    state.emit("charge.succeeded", charge)
    state.emit("payment_intent.succeeded", intent)
    payment.update(status="paid", amount_paid=intent["amount"])
    payment["status_transitions"]["paid_at"] = state.now()
    state.emit("invoice_payment.paid", payment)


def cancel_payment(state: StripeState, invoice: StripeObject) -> None:
    if "invoice_payment" not in state.hidden[invoice["id"]]:
        return
    payment, intent = default_payment(state, invoice)
    now = state.now()
    intent.update(status="canceled", canceled_at=now, cancellation_reason="void_invoice")
    payment["status"] = "canceled"
    payment["status_transitions"]["canceled_at"] = now
    state.emit("payment_intent.canceled", intent)


def create_refund(
    state: StripeState,
    intent_id: str | None,
    charge_id: str | None,
    amount: int | None,
    reason: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    charge = _refundable_charge(state, intent_id, charge_id)
    rest = charge["amount_captured"] - charge["amount_refunded"]
    if rest <= 0:
        raise fail.refused(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = rest if amount is None else amount
    if amount > rest:
        raise fail.refused(
            f"Refund amount ({_shown(amount, charge)}) is greater than unrefunded amount "
            f"on charge ({_shown(rest, charge)})",
            param="amount",
        )
    refund = state.add(build.refund(state.now(), charge, amount, reason, metadata))
    before = copy.deepcopy(charge)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
    state.emit("refund.created", refund)
    state.emit("charge.refunded", charge, before=before)
    return refund


def _refundable_charge(
    state: StripeState, intent_id: str | None, charge_id: str | None
) -> StripeObject:
    if charge_id is not None:
        charge = state.get("charge", charge_id, param="charge")
        if intent_id is not None and charge["payment_intent"] != intent_id:
            raise fail.invalid(
                "charge", f"Charge {charge_id} does not belong to PaymentIntent {intent_id}."
            )
    elif intent_id is not None:
        intent = state.get("payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded" or intent["latest_charge"] is None:
            raise fail.refused(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = state.get("charge", intent["latest_charge"])
    else:
        raise fail.StripeFailure(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
            saved=False,
        )
    if charge["status"] != "succeeded":
        raise fail.refused(f"Charge {charge['id']} did not succeed; there is nothing to refund.")
    return charge


def _shown(minor: int, charge: StripeObject) -> str:
    currency = charge["currency"]
    if currency == "usd":
        return f"${minor // 100:,}.{minor % 100:02d}"
    return f"{minor} {currency} minor units"
