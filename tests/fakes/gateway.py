"""An in-memory PaymentGateway for unit tests of the core (no HTTP, no SDK)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from governance.money import Money
from governance.ports import (
    CallScope,
    Customer,
    Invoice,
    InvoicePaymentInfo,
    NotFoundError,
    Refund,
    RejectedError,
    TransientError,
)


@dataclass
class MemoryGateway:
    customers: dict[str, Customer] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, InvoicePaymentInfo] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    keys: dict[str, object] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)

    def fail(self, operation: str, *errors: Exception) -> None:
        self.failures.setdefault(operation, []).extend(errors)

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        queued = self.failures.get(operation)
        if queued:
            raise queued.pop(0)

    def _once(self, scope: CallScope, make: object) -> object:
        if scope.idempotency_key not in self.keys:
            self.keys[scope.idempotency_key] = make() if callable(make) else make
        return self.keys[scope.idempotency_key]

    def find_customer(self, email: str) -> Customer | None:
        self._enter("find_customer")
        return next((c for c in self.customers.values() if c.email == email), None)

    def create_customer(self, email: str, scope: CallScope) -> Customer:
        self._enter("create_customer")

        def make() -> Customer:
            customer = Customer(f"cus_{len(self.customers) + 1}", email)
            self.customers[customer.id] = customer
            return customer

        result = self._once(scope, make)
        assert isinstance(result, Customer)
        return result

    def find_invoice_for_action(self, customer_id: str, action_id: str) -> Invoice | None:
        self._enter("find_invoice_for_action")
        return next(
            (
                i
                for i in self.invoices.values()
                if i.customer == customer_id and i.metadata.get("empire_action_id") == action_id
            ),
            None,
        )

    def create_invoice(
        self, customer_id: str, currency: str, due_days: int, description: str, scope: CallScope
    ) -> Invoice:
        self._enter("create_invoice")

        def make() -> Invoice:
            zero = Money(0, currency)
            invoice = Invoice(
                id=f"in_{len(self.invoices) + 1}",
                customer=customer_id,
                status="draft",
                number=None,
                amount_due=zero,
                amount_paid=zero,
                hosted_invoice_url=None,
                invoice_pdf=None,
                metadata={"empire_action_id": scope.action_id},
            )
            self.invoices[invoice.id] = invoice
            return invoice

        result = self._once(scope, make)
        assert isinstance(result, Invoice)
        return result

    def add_invoice_line(
        self, invoice_id: str, amount: Money, description: str, scope: CallScope
    ) -> Invoice:
        self._enter("add_invoice_line")

        def make() -> Invoice:
            invoice = self.invoices[invoice_id]
            updated = replace(
                invoice, amount_due=Money(invoice.amount_due.minor + amount.minor, amount.currency)
            )
            self.invoices[invoice_id] = updated
            return updated

        self._once(scope, make)
        return self.invoices[invoice_id]

    def finalize_invoice(self, invoice_id: str, scope: CallScope) -> Invoice:
        self._enter("finalize_invoice")

        def make() -> Invoice:
            invoice = self.invoices[invoice_id]
            if invoice.status != "draft":
                raise RejectedError("invoice is not a draft")
            updated = replace(
                invoice,
                status="open",
                number=f"INV-{invoice_id[3:]:0>4}",
                hosted_invoice_url=f"https://invoice.example/{invoice_id}",
                invoice_pdf=f"https://invoice.example/{invoice_id}.pdf",
            )
            self.invoices[invoice_id] = updated
            return updated

        self._once(scope, make)
        return self.invoices[invoice_id]

    def send_invoice(self, invoice_id: str, scope: CallScope) -> Invoice:
        self._enter("send_invoice")
        self._once(scope, lambda: self.invoices[invoice_id])
        return self.invoices[invoice_id]

    def get_invoice(self, invoice_id: str) -> Invoice:
        self._enter("get_invoice")
        if invoice_id not in self.invoices:
            raise NotFoundError(f"No such invoice: {invoice_id}")
        return self.invoices[invoice_id]

    def invoice_payment(self, invoice_id: str) -> InvoicePaymentInfo:
        self._enter("invoice_payment")
        if invoice_id not in self.payments:
            raise RejectedError(f"{invoice_id} has not been paid")
        return self.payments[invoice_id]

    def refundable_rest(self, payment_intent: str) -> Money:
        self._enter("refundable_rest")
        payment = next(p for p in self.payments.values() if p.payment_intent == payment_intent)
        return payment.refundable

    def find_refund_for_action(self, payment_intent: str, action_id: str) -> Refund | None:
        self._enter("find_refund_for_action")
        return next(
            (
                r
                for r in self.refunds.values()
                if r.payment_intent == payment_intent
                and r.metadata.get("empire_action_id") == action_id
            ),
            None,
        )

    def create_refund(
        self, payment_intent: str, amount: Money, reason: str, scope: CallScope
    ) -> Refund:
        self._enter("create_refund")

        def make() -> Refund:
            refund = Refund(
                f"re_{len(self.refunds) + 1}",
                amount,
                "succeeded",
                payment_intent,
                {"empire_action_id": scope.action_id},
            )
            self.refunds[refund.id] = refund
            for invoice_id, payment in self.payments.items():
                if payment.payment_intent == payment_intent:
                    self.payments[invoice_id] = replace(
                        payment,
                        refunded=Money(payment.refunded.minor + amount.minor, amount.currency),
                    )
            return refund

        result = self._once(scope, make)
        assert isinstance(result, Refund)
        return result

    # -- test setup ---------------------------------------------------------------------

    def paid_invoice(self, invoice_id: str, amount: Money, refunded: int = 0) -> None:
        self.invoices[invoice_id] = Invoice(
            invoice_id, "cus_paid", "paid", "INV-9", amount, amount, None, None, {}
        )
        self.payments[invoice_id] = InvoicePaymentInfo(
            invoice_id,
            f"pi_{invoice_id}",
            f"ch_{invoice_id}",
            amount,
            Money(refunded, amount.currency),
        )


def transient(reason: str = "Stripe is unavailable (503)") -> TransientError:
    return TransientError(reason)
