"""What the core needs from the outside world, as Protocols; adapters live in integrations/.

Errors an adapter raises are translated at its boundary into this small tree, so the
executor can tell what is safe to retry:

    ExternalError
     ├── TransientError      rate limited, 5xx, timeout: the same call may be retried
     └── RejectedError       the service said no (declined, invalid): retrying won't help
          └── NotFoundError  the object does not exist
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

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
    name: str | None = None
    default_payment_method: str | None = None  # invoice_settings.default_payment_method


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
    amount_remaining: Money | None = None
    subscription: str | None = None  # set on a subscription's invoices
    due_date: datetime | None = None
    created: datetime | None = None
    collection_method: str = "send_invoice"


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
    created: datetime | None = None
    charge: str | None = None


@dataclass(frozen=True)
class Price:
    """A recurring price: `amount` per one `interval` (week, month or year)."""

    id: str
    product: str
    amount: Money
    interval: str


@dataclass(frozen=True)
class Subscription:
    id: str
    customer: str
    status: str  # incomplete | active | past_due | unpaid | canceled | trialing | …
    price: str
    product: str
    amount: Money  # per interval
    interval: str
    cancel_at_period_end: bool
    current_period_end: datetime | None
    created: datetime | None
    canceled_at: datetime | None
    latest_invoice: str | None
    collection_method: str
    metadata: dict[str, str] = field(default_factory=dict)
    plan: str | None = None  # the product's name, where it was read


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

    # -- clients --------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer: ...

    def list_customers(self) -> list[Customer]:
        """Every customer with an email address, oldest first."""
        ...

    # -- subscriptions --------------------------------------------------------------------

    def find_product(self, name: str) -> str | None:
        """The id of an active product of exactly this name."""
        ...

    def create_product(self, name: str, scope: CallScope) -> str: ...

    def find_price(self, product_id: str, amount: Money, interval: str) -> Price | None:
        """An active recurring price of this product, amount, currency and interval."""
        ...

    def create_price(
        self, product_id: str, amount: Money, interval: str, scope: CallScope
    ) -> Price: ...

    def find_subscription_for_action(
        self, customer_id: str, action_id: str
    ) -> Subscription | None: ...

    def create_subscription(
        self,
        customer_id: str,
        price_id: str,
        scope: CallScope,
        *,
        charge_automatically: bool,
        due_days: int,
    ) -> Subscription:
        """`charge_automatically`: bill the customer's default payment method;
        otherwise `send_invoice` with `due_days`."""
        ...

    def get_subscription(self, subscription_id: str) -> Subscription: ...

    def cancel_subscription(
        self, subscription_id: str, scope: CallScope, *, at_period_end: bool
    ) -> Subscription: ...

    # -- payment --------------------------------------------------------------------------

    def pay_invoice(self, invoice_id: str, scope: CallScope, *, out_of_band: bool) -> Invoice:
        """Charge the customer's default payment method, or mark paid outside Stripe."""
        ...

    # -- reading what moved (webhooks, reconciliation) ------------------------------------

    def invoice_of_payment_intent(self, payment_intent: str) -> str | None: ...

    def retrieve_raw(self, kind: str, object_id: str) -> dict[str, Any]:
        """The object as Stripe's JSON, read fresh (kind: invoice, subscription, charge,
        refund, dispute, payment_intent, customer)."""
        ...

    def invoices_created_since(self, since: datetime) -> list[Invoice]: ...

    def refunds_created_since(self, since: datetime) -> list[Refund]: ...

    def list_subscriptions(self) -> list[Subscription]:
        """Every subscription, cancelled ones included."""
        ...
