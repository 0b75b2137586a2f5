"""`payments.invoice`: a one-off invoice, created, finalized and sent exactly once."""

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
from governance.money import Money
from governance.ports import CallScope, Invoice, PaymentGateway


def invoice_payload(client_email: str, amount: Money, description: str, due_days: int) -> Payload:
    return {
        "client_email": client_email,
        "amount": money_to_json(amount),
        "description": description,
        "due_days": due_days,
    }


def _invoice_json(invoice: Invoice) -> Payload:
    """What a step journals of an invoice: what later steps and the card read back."""
    return {
        "id": invoice.id,
        "status": invoice.status,
        "number": invoice.number,
        "amount_due": money_to_json(invoice.amount_due),
        "amount_paid": money_to_json(invoice.amount_paid),
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
    }


class InvoiceAction:
    name = "payments.invoice"
    title = "Invoice"
    needs_preparation = False

    def amount(self, payload: Payload) -> Money:
        return money_from_json(payload["amount"])

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        return [
            ("Client", payload["client_email"]),
            ("Amount", self.amount(payload).format()),
            ("Description", payload["description"]),
            ("Due", f"{payload['due_days']} days after sending"),
        ]

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        return payload

    def editable(self, payload: Payload) -> list[EditableField]:
        return [
            EditableField("amount", "Amount", self.amount(payload).format()),
            EditableField("description", "Description", payload["description"], multiline=True),
            EditableField(
                "due_days", "Due (days after sending)", str(payload["due_days"]), max_length=3
            ),
        ]

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        return invoice_payload(
            payload["client_email"],
            editing.amount(values, "amount", currency),
            editing.text(values, "description", "description"),
            editing.days(values, "due_days"),
        )

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome:
        amount = self.amount(payload)
        email = payload["client_email"]

        def customer(scope: CallScope) -> Payload:
            found = gateway.find_customer(email) or gateway.create_customer(email, scope)
            return {"id": found.id}

        customer_id = step("customer", customer)["id"]

        def draft(scope: CallScope) -> Payload:
            existing = gateway.find_invoice_for_action(customer_id, scope.action_id)
            invoice = existing or gateway.create_invoice(
                customer_id, amount.currency, payload["due_days"], payload["description"], scope
            )
            return {"id": invoice.id}

        invoice_id = step("invoice", draft)["id"]

        def line(scope: CallScope) -> Payload:
            # A line added by an earlier attempt whose answer was lost shows in the total.
            invoice = gateway.get_invoice(invoice_id)
            if invoice.amount_due.minor == 0:
                invoice = gateway.add_invoice_line(
                    invoice_id, amount, payload["description"], scope
                )
            return _invoice_json(invoice)

        def finalize(scope: CallScope) -> Payload:
            invoice = gateway.get_invoice(invoice_id)
            if invoice.status == "draft":
                invoice = gateway.finalize_invoice(invoice_id, scope)
            return _invoice_json(invoice)

        step("line", line)
        step("finalize", finalize)
        sent = step("send", lambda scope: _invoice_json(gateway.send_invoice(invoice_id, scope)))
        return Outcome(
            summary=f"Invoice {invoice_id}" + (f" · {sent['number']}" if sent["number"] else ""),
            object_id=invoice_id,
            details={
                "invoice": invoice_id,
                "number": sent["number"],
                "hosted_invoice_url": sent["hosted_invoice_url"],
                "invoice_pdf": sent["invoice_pdf"],
                "customer": customer_id,
            },
        )
