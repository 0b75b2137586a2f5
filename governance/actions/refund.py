"""`payments.refund`: part or all of what is left of a paid invoice's payment."""

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
from governance.ports import CallScope, PaymentGateway


def refund_payload(invoice_id: str, amount: Money | None, reason: str) -> Payload:
    return {
        "invoice_id": invoice_id,
        "amount": money_to_json(amount) if amount else None,
        "whole_rest": amount is None,
        "reason": reason,
    }


class RefundAction:
    name = "payments.refund"
    title = "Refund"
    needs_preparation = True

    def amount(self, payload: Payload) -> Money | None:
        return money_from_json(payload["amount"]) if payload["amount"] else None

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        amount = self.amount(payload)
        shown = amount.format() if amount else "the whole refundable rest"
        if payload["whole_rest"] and amount:
            shown += " (the whole refundable rest)"
        return [
            ("Invoice", payload["invoice_id"]),
            ("Amount", shown),
            ("Reason", payload["reason"]),
        ]

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        invoice = gateway.get_invoice(payload["invoice_id"])
        payment = gateway.invoice_payment(invoice.id)
        rest = payment.refundable
        if rest.minor <= 0:
            raise ActionRefused(f"Nothing is left to refund on {invoice.id}.")
        amount = self.amount(payload) or rest
        if amount.currency != rest.currency:
            raise ActionRefused(
                f"{invoice.id} was paid in {rest.currency.upper()}, not {amount.currency.upper()}."
            )
        if amount.minor > rest.minor:
            raise ActionRefused(
                f"Only {rest.format()} of {invoice.id} can still be refunded, "
                f"less than {amount.format()}."
            )
        return {
            **payload,
            "amount": money_to_json(amount),
            "payment_intent": payment.payment_intent,
            # Whose money it is: rules and daily limits may name clients.
            "client_email": gateway.get_customer(invoice.customer).email,
        }

    def editable(self, payload: Payload) -> list[EditableField]:
        amount = self.amount(payload)
        return [
            EditableField(
                "amount",
                "Amount (empty: the whole refundable rest)",
                amount.format() if amount else "",
            ),
            EditableField("reason", "Reason", payload["reason"], multiline=True),
        ]

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        whole = not values.get("amount", "").strip()
        amount = None if whole else editing.amount(values, "amount", currency)
        return refund_payload(
            payload["invoice_id"], amount, editing.text(values, "reason", "reason")
        )

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome:
        amount = money_from_json(payload["amount"])
        payment_intent = payload["payment_intent"]

        def refund(scope: CallScope) -> Payload:
            done = gateway.find_refund_for_action(payment_intent, scope.action_id)
            if done is None:
                # Read the rest again right before moving money: it may have shrunk since
                # the card was approved (another refund, a dispute).
                rest = gateway.refundable_rest(payment_intent)
                if amount.minor > rest.minor:
                    raise ActionRefused(
                        f"Only {rest.format()} can still be refunded now, "
                        f"less than the {amount.format()} approved."
                    )
                done = gateway.create_refund(payment_intent, amount, payload["reason"], scope)
            return {"id": done.id, "status": done.status, "amount": money_to_json(done.amount)}

        refunded = step("refund", refund)
        return Outcome(
            summary=f"Refund {refunded['id']} of {amount.format()}",
            object_id=refunded["id"],
            details={"refund": refunded["id"], "status": refunded["status"]},
        )
