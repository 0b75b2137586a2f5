"""What the core needs from the outside world, as Protocols; adapters live in integrations/.

Errors an adapter raises are translated at its boundary into this small tree, so the
executor can tell what is safe to retry:

    ExternalError
     ├── TransientError      rate limited, 5xx, timeout: the same call may be retried
     └── RejectedError       the service said no (declined, invalid): retrying won't help
          └── NotFoundError  the object does not exist
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from governance.money import Money


class ExternalError(Exception):
    """A call to an outside service failed; `reason` is safe to show a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ExternalError):
    pass


class RejectedError(ExternalError):
    pass


class NotFoundError(RejectedError):
    pass


@dataclass(frozen=True)
class Customer:
    id: str
    email: str


@dataclass(frozen=True)
class Invoice:
    id: str
    customer: str
    status: str  # draft | open | paid | uncollectible | void
    number: str | None
    amount_due: Money
    amount_paid: Money
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    metadata: dict[str, str]


@dataclass(frozen=True)
class InvoicePaymentInfo:
    """The payment behind a paid invoice and what of it can still be refunded."""

    invoice: str
    payment_intent: str
    charge: str
    captured: Money
    refunded: Money

    @property
    def refundable(self) -> Money:
        return Money(self.captured.minor - self.refunded.minor, self.captured.currency)


@dataclass(frozen=True)
class Refund:
    id: str
    amount: Money
    status: str
    payment_intent: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class CallScope:
    """Ties an outside call to one step of one action request.

    `idempotency_key` makes a retried call return the first call's result;
    `action_id` goes into the created object's metadata as `empire_action_id`, so the
    object can be found again after the key has expired (Stripe keeps keys for 24 h).
    """

    action_id: str
    idempotency_key: str


class PaymentGateway(Protocol):
    def find_customer(self, email: str) -> Customer | None: ...

    def create_customer(self, email: str, scope: CallScope) -> Customer: ...

    def find_invoice_for_action(self, customer_id: str, action_id: str) -> Invoice | None: ...

    def create_invoice(
        self, customer_id: str, currency: str, due_days: int, description: str, scope: CallScope
    ) -> Invoice: ...

    def add_invoice_line(
        self, invoice_id: str, amount: Money, description: str, scope: CallScope
    ) -> Invoice: ...

    def finalize_invoice(self, invoice_id: str, scope: CallScope) -> Invoice: ...

    def send_invoice(self, invoice_id: str, scope: CallScope) -> Invoice: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...

    def invoice_payment(self, invoice_id: str) -> InvoicePaymentInfo:
        """The paid invoice's payment, read fresh; `RejectedError` when it has none."""
        ...

    def refundable_rest(self, payment_intent: str) -> Money:
        """What of this payment can still be refunded, read fresh."""
        ...

    def find_refund_for_action(self, payment_intent: str, action_id: str) -> Refund | None: ...

    def create_refund(
        self, payment_intent: str, amount: Money, reason: str, scope: CallScope
    ) -> Refund: ...
