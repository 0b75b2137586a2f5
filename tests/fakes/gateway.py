"""An in-memory PaymentGateway for unit tests of the core (no HTTP, no SDK)."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from governance.money import Money
from governance.ports import (
    CallScope,
    Customer,
    Invoice,
    InvoicePaymentInfo,
    NotFoundError,
    Price,
    Refund,
    RejectedError,
    Subscription,
    TransientError,
)

ACTION_KEY = "empire_action_id"
CANCEL_KEY = "empire_cancel_action_id"
RAW_KINDS = (
    "invoice",
    "subscription",
    "charge",
    "refund",
    "dispute",
    "payment_intent",
    "customer",
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def after_interval(start: datetime, interval: str, count: int = 1) -> datetime:
    """`count` intervals after `start`, a month being a calendar month (as Stripe)."""
    if interval in ("day", "week"):
        return start + timedelta(days=count * (7 if interval == "week" else 1))
    months = start.month - 1 + count * (12 if interval == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
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
    products: dict[str, str] = field(default_factory=dict)  # id -> name
    prices: dict[str, Price] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    declining: set[str] = field(default_factory=set)  # payment methods that are declined
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # extra objects by id
    clock: Callable[[], datetime] = _utc_now

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
                amount_remaining=zero,
                created=self.clock(),
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
            due = Money(invoice.amount_due.minor + amount.minor, amount.currency)
            updated = replace(invoice, amount_due=due, amount_remaining=due)
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
                due_date=self.clock() + timedelta(days=14),
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
            charge = next(
                (p.charge for p in self.payments.values() if p.payment_intent == payment_intent),
                None,
            )
            refund = Refund(
                f"re_{len(self.refunds) + 1}",
                amount,
                "succeeded",
                payment_intent,
                {"empire_action_id": scope.action_id},
                created=self.clock(),
                charge=charge,
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

    # -- clients ----------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> Customer:
        self._enter("get_customer")
        return self._customer(customer_id)

    def _customer(self, customer_id: str) -> Customer:
        if customer_id not in self.customers:
            raise NotFoundError(f"No such customer: '{customer_id}'")
        return self.customers[customer_id]

    def list_customers(self) -> list[Customer]:
        self._enter("list_customers")
        return [c for c in self.customers.values() if c.email]

    # -- products and prices ----------------------------------------------------------

    def find_product(self, name: str) -> str | None:
        self._enter("find_product")
        return next((pid for pid, known in self.products.items() if known == name), None)

    def create_product(self, name: str, scope: CallScope) -> str:
        self._enter("create_product")

        def make() -> str:
            product_id = f"prod_{len(self.products) + 1}"
            self.products[product_id] = name
            return product_id

        return str(self._once(scope, make))

    def find_price(self, product_id: str, amount: Money, interval: str) -> Price | None:
        self._enter("find_price")
        wanted = Price("", product_id, amount, interval)
        return next(
            (p for p in self.prices.values() if replace(p, id="") == wanted),
            None,
        )

    def create_price(
        self, product_id: str, amount: Money, interval: str, scope: CallScope
    ) -> Price:
        self._enter("create_price")

        def make() -> Price:
            if product_id not in self.products:
                raise NotFoundError(f"No such product: '{product_id}'")
            price = Price(f"price_{len(self.prices) + 1}", product_id, amount, interval)
            self.prices[price.id] = price
            return price

        result = self._once(scope, make)
        assert isinstance(result, Price)
        return result

    # -- subscriptions ----------------------------------------------------------------

    def find_subscription_for_action(self, customer_id: str, action_id: str) -> Subscription | None:
        self._enter("find_subscription_for_action")
        return next(
            (
                s
                for s in self.subscriptions.values()
                if s.customer == customer_id and s.metadata.get(ACTION_KEY) == action_id
            ),
            None,
        )

    def create_subscription(
        self,
        customer_id: str,
        price_id: str,
        scope: CallScope,
        *,
        charge_automatically: bool,
        due_days: int,
    ) -> Subscription:
        self._enter("create_subscription")

        def make() -> Subscription:
            customer = self._customer(customer_id)
            if price_id not in self.prices:
                raise NotFoundError(f"No such price: '{price_id}'")
            price = self.prices[price_id]
            if charge_automatically:
                self._chargeable(customer)
            subscription = self.add_subscription(
                customer_id,
                price,
                collection_method="charge_automatically"
                if charge_automatically
                else "send_invoice",
                metadata={ACTION_KEY: scope.action_id},
            )
            invoice = self._subscription_invoice(subscription, due_days)
            if charge_automatically:
                invoice = self._collect(invoice)
            subscription = replace(subscription, latest_invoice=invoice.id)
            self.subscriptions[subscription.id] = subscription
            return subscription

        result = self._once(scope, make)  # a replay answers as the first call did
        assert isinstance(result, Subscription)
        return result

    def get_subscription(self, subscription_id: str) -> Subscription:
        self._enter("get_subscription")
        if subscription_id not in self.subscriptions:
            raise NotFoundError(f"No such subscription: '{subscription_id}'")
        found = self.subscriptions[subscription_id]
        return replace(found, plan=self.products.get(found.product))

    def cancel_subscription(
        self, subscription_id: str, scope: CallScope, *, at_period_end: bool
    ) -> Subscription:
        self._enter("cancel_subscription")

        def make() -> Subscription:
            current = self.subscriptions.get(subscription_id)
            if current is None:
                raise NotFoundError(f"No such subscription: '{subscription_id}'")
            if current.status in ("canceled", "incomplete_expired"):
                if current.metadata.get(CANCEL_KEY) == scope.action_id:
                    return current
                raise RejectedError(f"Subscription {subscription_id} is already canceled.")
            tagged = {**current.metadata, CANCEL_KEY: scope.action_id}
            if at_period_end:
                cancelled = replace(current, cancel_at_period_end=True, metadata=tagged)
            else:
                cancelled = replace(
                    current, status="canceled", canceled_at=self.clock(), metadata=tagged
                )
            self.subscriptions[subscription_id] = cancelled
            return cancelled

        result = self._once(scope, make)  # a replay answers as the first call did
        assert isinstance(result, Subscription)
        return result

    def list_subscriptions(self) -> list[Subscription]:
        self._enter("list_subscriptions")
        return list(self.subscriptions.values())

    # -- payment ----------------------------------------------------------------------

    def pay_invoice(self, invoice_id: str, scope: CallScope, *, out_of_band: bool) -> Invoice:
        self._enter("pay_invoice")

        def make() -> Invoice:
            if invoice_id not in self.invoices:
                raise NotFoundError(f"No such invoice: '{invoice_id}'")
            invoice = self.invoices[invoice_id]
            if invoice.status == "paid":
                raise RejectedError("Invoice is already paid")
            if invoice.status not in ("open", "uncollectible"):
                raise RejectedError(
                    f"You can only pay open invoices; {invoice_id} is {invoice.status}."
                )
            if out_of_band:
                return self._mark_paid(invoice)
            self._chargeable(self._customer(invoice.customer))
            return self._collect(invoice)

        self._once(scope, make)
        return self.invoices[invoice_id]

    # -- reading what moved -----------------------------------------------------------

    def invoice_of_payment_intent(self, payment_intent: str) -> str | None:
        self._enter("invoice_of_payment_intent")
        return next(
            (i for i, p in self.payments.items() if p.payment_intent == payment_intent), None
        )

    def retrieve_raw(self, kind: str, object_id: str) -> dict[str, Any]:
        self._enter("retrieve_raw")
        if kind not in RAW_KINDS:
            raise ValueError(f"cannot read a Stripe object of kind {kind!r}")
        stored: dict[str, object] = {
            **self.invoices,
            **self.subscriptions,
            **self.refunds,
            **self.customers,
        }
        found = self.raw.get(object_id) or (
            {"object": kind, **asdict(stored[object_id])}  # type: ignore[call-overload]
            if object_id in stored
            else None
        )
        if found is None or found.get("object") != kind:
            raise NotFoundError(f"No such {kind}: '{object_id}'")
        return dict(found)

    def invoices_created_since(self, since: datetime) -> list[Invoice]:
        self._enter("invoices_created_since")
        return [i for i in self.invoices.values() if i.created and i.created >= since]

    def refunds_created_since(self, since: datetime) -> list[Refund]:
        self._enter("refunds_created_since")
        return [r for r in self.refunds.values() if r.created and r.created >= since]

    # -- inside the fake --------------------------------------------------------------

    def _chargeable(self, customer: Customer) -> str:
        method = customer.default_payment_method
        if method is None:
            raise RejectedError(f"Customer {customer.id} has no default payment method.")
        if method in self.declining:
            raise RejectedError("The card was declined: Your card was declined.")
        return method

    def _subscription_invoice(self, subscription: Subscription, due_days: int) -> Invoice:
        now = self.clock()
        invoice = Invoice(
            id=f"in_{len(self.invoices) + 1}",
            customer=subscription.customer,
            status="open",
            number=f"SUB-{len(self.invoices) + 1:04d}",
            amount_due=subscription.amount,
            amount_paid=Money(0, subscription.amount.currency),
            hosted_invoice_url=f"https://invoice.example/in_{len(self.invoices) + 1}",
            invoice_pdf=None,
            metadata={},
            amount_remaining=subscription.amount,
            subscription=subscription.id,
            due_date=None
            if subscription.collection_method == "charge_automatically"
            else now + timedelta(days=due_days),
            created=now,
            collection_method=subscription.collection_method,
        )
        self.invoices[invoice.id] = invoice
        return invoice

    def _collect(self, invoice: Invoice) -> Invoice:
        """Charge the customer's default card for the invoice (checked chargeable)."""
        paid = self._mark_paid(invoice)
        number = len(self.payments) + 1
        self.payments[invoice.id] = InvoicePaymentInfo(
            invoice.id,
            f"pi_{number}",
            f"ch_{number}",
            invoice.amount_due,
            Money(0, invoice.amount_due.currency),
        )
        return paid

    def _mark_paid(self, invoice: Invoice) -> Invoice:
        paid = replace(
            invoice,
            status="paid",
            amount_paid=invoice.amount_due,
            amount_remaining=Money(0, invoice.amount_due.currency),
        )
        self.invoices[invoice.id] = paid
        if paid.subscription in self.subscriptions:
            subscription = self.subscriptions[paid.subscription]
            if subscription.status in ("incomplete", "past_due", "unpaid"):
                self.subscriptions[subscription.id] = replace(subscription, status="active")
        return paid

    # -- test setup ---------------------------------------------------------------------

    def add_customer(
        self, email: str, name: str | None = None, default_payment_method: str | None = None
    ) -> Customer:
        customer = Customer(f"cus_{len(self.customers) + 1}", email, name, default_payment_method)
        self.customers[customer.id] = customer
        return customer

    def set_default_payment_method(
        self, customer_id: str, payment_method: str = "pm_card_visa", *, declines: bool = False
    ) -> None:
        """Give the customer a default card; a `declines` card fails every charge."""
        self.customers[customer_id] = replace(
            self.customers[customer_id], default_payment_method=payment_method
        )
        if declines:
            self.declining.add(payment_method)
        else:
            self.declining.discard(payment_method)

    def add_price(self, amount: Money, interval: str = "month", name: str = "Plan") -> Price:
        known = (pid for pid, product in self.products.items() if product == name)
        product_id = next(known, f"prod_{len(self.products) + 1}")
        self.products[product_id] = name
        price = Price(f"price_{len(self.prices) + 1}", product_id, amount, interval)
        self.prices[price.id] = price
        return price

    def add_subscription(
        self,
        customer_id: str,
        price: Price,
        *,
        status: str = "active",
        collection_method: str = "charge_automatically",
        metadata: dict[str, str] | None = None,
        cancel_at_period_end: bool = False,
    ) -> Subscription:
        """A subscription as Stripe would hold it (no invoice is made)."""
        now = self.clock()
        self.prices.setdefault(price.id, price)
        subscription = Subscription(
            id=f"sub_{len(self.subscriptions) + 1}",
            customer=customer_id,
            status=status,
            price=price.id,
            product=price.product,
            amount=price.amount,
            interval=price.interval,
            cancel_at_period_end=cancel_at_period_end,
            current_period_end=after_interval(now, price.interval),
            created=now,
            canceled_at=now if status == "canceled" else None,
            latest_invoice=None,
            collection_method=collection_method,
            metadata=dict(metadata or {}),
        )
        self.subscriptions[subscription.id] = subscription
        return subscription

    def paid_invoice(self, invoice_id: str, amount: Money, refunded: int = 0) -> None:
        self.customers.setdefault("cus_paid", Customer("cus_paid", "paid@example.com"))
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
