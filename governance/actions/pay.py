"""`payments.pay`: collect an open invoice now, by the card on file or as paid outside Stripe."""

from __future__ import annotations

from governance.actions import editing
from governance.actions.base import (
    EditableField,
    Outcome,
    Payload,
    StepRunner,
    money_from_json,
    money_to_json,
)
from governance.errors import ActionRefused
from governance.money import Money
from governance.ports import CallScope, NotFoundError, PaymentGateway

_NOT_PAYABLE = {
    "paid": "is already paid",
    "void": "was voided",
    "draft": "is still a draft; it must be finalized first",
    "uncollectible": "was marked uncollectible",
}


def pay_payload(invoice_id: str, out_of_band_note: str | None) -> Payload:
    return {
        "invoice_id": invoice_id,
        "out_of_band": out_of_band_note is not None,
        "note": out_of_band_note,
    }


class PayAction:
    name = "payments.pay"
    title = "Payment"
    needs_preparation = True

    def amount(self, payload: Payload) -> Money | None:
        return money_from_json(payload["amount"]) if payload.get("amount") else None

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        fields = [("Invoice", payload["invoice_id"])]
        if payload.get("number"):
            fields.append(("Number", payload["number"]))
        if payload.get("client_email"):
            fields.append(("Client", payload["client_email"]))
        amount = self.amount(payload)
        if amount is not None:
            fields.append(("Amount", amount.format()))
        if payload["out_of_band"]:
            fields.append(("How", "mark as paid outside Stripe (no charge)"))
            fields.append(("Note", payload["note"]))
        else:
            fields.append(("How", "charge the client's card on file"))
        return fields

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        invoice_id = payload["invoice_id"]
        try:
            invoice = gateway.get_invoice(invoice_id)
        except NotFoundError:
            raise ActionRefused(f"There is no invoice {invoice_id}.") from None
        if invoice.status != "open":
            reason = _NOT_PAYABLE.get(invoice.status, f"is {invoice.status}")
            raise ActionRefused(f"Invoice {invoice_id} {reason}; there is nothing to pay.")
        customer = gateway.get_customer(invoice.customer)
        if not payload["out_of_band"] and customer.default_payment_method is None:
            raise ActionRefused(
                f"{customer.email} has no card on file to charge. If they paid another way, "
                f"use `/empire pay {invoice_id} out-of-band <note>`."
            )
        remaining = invoice.amount_remaining or invoice.amount_due
        return {
            **payload,
            "amount": money_to_json(remaining),
            "number": invoice.number,
            "client_email": customer.email,
        }

    def editable(self, payload: Payload) -> list[EditableField]:
        if not payload["out_of_band"]:
            return []
        return [EditableField("note", "How it was paid", payload["note"], multiline=True)]

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        return pay_payload(payload["invoice_id"], editing.text(values, "note", "note"))

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome:
        invoice_id, out_of_band = payload["invoice_id"], payload["out_of_band"]

        def pay(scope: CallScope) -> Payload:
            invoice = gateway.get_invoice(invoice_id)
            if invoice.status == "open":
                invoice = gateway.pay_invoice(invoice_id, scope, out_of_band=out_of_band)
            elif invoice.status != "paid":
                raise ActionRefused(f"Invoice {invoice_id} is {invoice.status} now, not open.")
            return {
                "status": invoice.status,
                "amount_paid": money_to_json(invoice.amount_paid),
                "hosted_invoice_url": invoice.hosted_invoice_url,
            }

        paid = step("pay", pay)
        how = "marked paid outside Stripe" if out_of_band else "charged to the card on file"
        amount = money_from_json(paid["amount_paid"]).format()
        return Outcome(
            summary=f"Invoice {invoice_id} paid: {amount}, {how}",
            object_id=invoice_id,
            details={
                "invoice": invoice_id,
                "status": paid["status"],
                "hosted_invoice_url": paid["hosted_invoice_url"],
                "out_of_band": out_of_band,
            },
        )
