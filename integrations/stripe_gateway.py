"""`PaymentGateway` on the official Stripe SDK (`StripeClient`, typed `client.v1` services).

Every call that creates or changes something carries the step's idempotency key, and
every object created carries `metadata.empire_action_id`, so a retry replays the first
answer and an object can still be found after Stripe has forgotten the key (24 h).
Stripe's exceptions are translated here, at the boundary, into `integrations.errors`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import stripe
from stripe.params import SubscriptionCreateParams

from governance.money import Money
from governance.ports import (
    CallScope,
    Customer,
    ExternalError,
    Invoice,
    InvoicePaymentInfo,
    Price,
    Refund,
    RejectedError,
    Subscription,
)
from integrations.errors import (
    InvalidStripeRequest,
    PaymentDeclined,
    RateLimited,
    StripeAccessDenied,
    StripeObjectNotFound,
    StripeUnavailable,
)

ACTION_KEY = "empire_action_id"
CANCEL_KEY = "empire_cancel_action_id"
REASON_KEY = "empire_reason"
METADATA_VALUE_LIMIT = 500
_KEY_PATTERN = re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9*]+")

_Object = TypeVar("_Object", bound=stripe.StripeObject)


class StripeGateway:
    def __init__(
        self,
        api_key: str,
        api_base: str,
        *,
        max_network_retries: int = 2,
        timeout: float = 20.0,
    ) -> None:
        # Client telemetry would add timings of earlier calls to each request and write
        # an id file under the home folder; the bot needs neither.
        stripe.enable_telemetry = False
        self._api_key = api_key
        self._http = stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]  # unannotated in the SDK

    # -- customers ---------------------------------------------------------------------

    def find_customer(self, email: str) -> Customer | None:
        with self._translated("look up the customer"):
            found = self._client.v1.customers.list(params={"email": email, "limit": 1})
        first = next(iter(found.data), None)
        return _customer(first, email) if first else None

    def create_customer(self, email: str, scope: CallScope) -> Customer:
        with self._translated("create the customer"):
            customer = self._client.v1.customers.create(
                params={"email": email, "metadata": _tag(scope)}, options=_once(scope)
            )
        return _customer(customer, email)

    def get_customer(self, customer_id: str) -> Customer:
        with self._translated("read the customer"):
            customer = self._client.v1.customers.retrieve(customer_id)
        return _customer(customer)

    def list_customers(self) -> list[Customer]:
        with self._translated("list the customers"):
            listing = self._client.v1.customers.list(params={"limit": 100})
            found = [_customer(c) for c in listing.auto_paging_iter() if c.email]
        return found[::-1]

    # -- invoices ----------------------------------------------------------------------

    def find_invoice_for_action(self, customer_id: str, action_id: str) -> Invoice | None:
        with self._translated("look up the customer's invoices"):
            listing = self._client.v1.invoices.list(params={"customer": customer_id, "limit": 100})
            found = _first_for_action(listing.auto_paging_iter(), action_id)
        return _invoice(found) if found else None

    def create_invoice(
        self, customer_id: str, currency: str, due_days: int, description: str, scope: CallScope
    ) -> Invoice:
        with self._translated("create the invoice"):
            invoice = self._client.v1.invoices.create(
                params={
                    "customer": customer_id,
                    "currency": currency,
                    "collection_method": "send_invoice",
                    "days_until_due": due_days,
                    "description": description,
                    "auto_advance": False,
                    "pending_invoice_items_behavior": "exclude",
                    "metadata": _tag(scope),
                },
                options=_once(scope),
            )
        return _invoice(invoice)

    def add_invoice_line(
        self, invoice_id: str, amount: Money, description: str, scope: CallScope
    ) -> Invoice:
        with self._translated("add the line to the invoice"):
            # Stripe bills an invoice item to a customer: read whose invoice this is.
            draft = self._client.v1.invoices.retrieve(invoice_id)
            self._client.v1.invoice_items.create(
                params={
                    "customer": _id(draft.customer),
                    "invoice": invoice_id,
                    "amount": amount.minor,
                    "currency": amount.currency,
                    "description": description,
                    "metadata": _tag(scope),
                },
                options=_once(scope),
            )
            invoice = self._client.v1.invoices.retrieve(invoice_id)
        return _invoice(invoice)

    def finalize_invoice(self, invoice_id: str, scope: CallScope) -> Invoice:
        with self._translated("finalize the invoice"):
            invoice = self._client.v1.invoices.finalize_invoice(
                invoice_id, params={"auto_advance": False}, options=_once(scope)
            )
        return _invoice(invoice)

    def send_invoice(self, invoice_id: str, scope: CallScope) -> Invoice:
        with self._translated("send the invoice"):
            invoice = self._client.v1.invoices.send_invoice(invoice_id, options=_once(scope))
        return _invoice(invoice)

    def get_invoice(self, invoice_id: str) -> Invoice:
        with self._translated("read the invoice"):
            invoice = self._client.v1.invoices.retrieve(invoice_id)
        return _invoice(invoice)

    # -- payments and refunds ----------------------------------------------------------

    def invoice_payment(self, invoice_id: str) -> InvoicePaymentInfo:
        with self._translated("read the invoice's payment"):
            payments = self._client.v1.invoice_payments.list(
                params={"invoice": invoice_id, "status": "paid"}
            )
            paid = next(
                (
                    p
                    for p in payments.auto_paging_iter()
                    if p.payment.type == "payment_intent" and p.payment.payment_intent
                ),
                None,
            )
            if paid is None:
                raise self._why_no_payment(invoice_id)
        intent_id, charge = self._charge_of(_id(paid.payment.payment_intent))
        return InvoicePaymentInfo(
            invoice=invoice_id,
            payment_intent=intent_id,
            charge=charge.id,
            captured=Money(charge.amount_captured, charge.currency),
            refunded=Money(charge.amount_refunded, charge.currency),
        )

    def refundable_rest(self, payment_intent: str) -> Money:
        _, charge = self._charge_of(payment_intent)
        return Money(charge.amount_captured - charge.amount_refunded, charge.currency)

    def _charge_of(self, payment_intent: str) -> tuple[str, stripe.Charge]:
        """The payment intent's id and its successful charge, read fresh."""
        with self._translated("read the payment"):
            intent = self._client.v1.payment_intents.retrieve(
                payment_intent, params={"expand": ["latest_charge"]}
            )
        charge = intent.latest_charge
        if not isinstance(charge, stripe.Charge) or charge.status != "succeeded":
            raise RejectedError(f"Payment {payment_intent} has no successful charge.")
        return intent.id, charge

    def find_refund_for_action(self, payment_intent: str, action_id: str) -> Refund | None:
        with self._translated("look up the payment's refunds"):
            listing = self._client.v1.refunds.list(
                params={"payment_intent": payment_intent, "limit": 100}
            )
            found = _first_for_action(listing.auto_paging_iter(), action_id)
        return _refund(found) if found else None

    def create_refund(
        self, payment_intent: str, amount: Money, reason: str, scope: CallScope
    ) -> Refund:
        # Stripe's `reason` is a short list; the person's own words go in metadata.
        metadata = {**_tag(scope), REASON_KEY: reason[:METADATA_VALUE_LIMIT]}
        with self._translated("create the refund"):
            refund = self._client.v1.refunds.create(
                params={
                    "payment_intent": payment_intent,
                    "amount": amount.minor,
                    "reason": _stripe_reason(reason),
                    "metadata": metadata,
                },
                options=_once(scope),
            )
        return _refund(refund)

    # -- products and prices ------------------------------------------------------------

    def find_product(self, name: str) -> str | None:
        with self._translated("look up the product"):
            listing = self._client.v1.products.list(params={"active": True, "limit": 100})
            found = next((p for p in listing.auto_paging_iter() if p.name == name), None)
        return found.id if found else None

    def create_product(self, name: str, scope: CallScope) -> str:
        with self._translated("create the product"):
            product = self._client.v1.products.create(
                params={"name": name, "metadata": _tag(scope)}, options=_once(scope)
            )
        return product.id

    def find_price(self, product_id: str, amount: Money, interval: str) -> Price | None:
        with self._translated("look up the price"):
            listing = self._client.v1.prices.list(
                params={
                    "product": product_id,
                    "active": True,
                    "type": "recurring",
                    "currency": amount.currency,
                    "limit": 100,
                }
            )
            found = next(
                (
                    p
                    for p in listing.auto_paging_iter()
                    if p.unit_amount == amount.minor
                    and p.recurring is not None
                    and p.recurring.interval == interval
                    and p.recurring.interval_count == 1
                ),
                None,
            )
        return _price(found) if found else None

    def create_price(
        self, product_id: str, amount: Money, interval: str, scope: CallScope
    ) -> Price:
        with self._translated("create the price"):
            price = self._client.v1.prices.create(
                params={
                    "product": product_id,
                    "unit_amount": amount.minor,
                    "currency": amount.currency,
                    "recurring": {"interval": interval, "interval_count": 1},
                    "metadata": _tag(scope),
                },
                options=_once(scope),
            )
        return _price(price)

    # -- subscriptions ------------------------------------------------------------------

    def find_subscription_for_action(self, customer_id: str, action_id: str) -> Subscription | None:
        with self._translated("look up the customer's subscriptions"):
            listing = self._client.v1.subscriptions.list(
                params={"customer": customer_id, "status": "all", "limit": 100}
            )
            found = _first_for_action(listing.auto_paging_iter(), action_id)
        return _subscription(found) if found else None

    def create_subscription(
        self,
        customer_id: str,
        price_id: str,
        scope: CallScope,
        *,
        charge_automatically: bool,
        due_days: int,
    ) -> Subscription:
        params: SubscriptionCreateParams = {
            "customer": customer_id,
            "items": [{"price": price_id}],
            "metadata": _tag(scope),
        }
        if charge_automatically:
            # A first payment that fails leaves nothing behind: Stripe answers 402.
            params["collection_method"] = "charge_automatically"
            params["payment_behavior"] = "error_if_incomplete"
        else:
            params["collection_method"] = "send_invoice"
            params["days_until_due"] = due_days
        with self._translated("create the subscription"):
            subscription = self._client.v1.subscriptions.create(params=params, options=_once(scope))
        return _subscription(subscription)

    def get_subscription(self, subscription_id: str) -> Subscription:
        with self._translated("read the subscription"):
            subscription = self._client.v1.subscriptions.retrieve(
                subscription_id, params={"expand": ["items.data.price.product"]}
            )
        return _subscription(subscription)

    def cancel_subscription(
        self, subscription_id: str, scope: CallScope, *, at_period_end: bool
    ) -> Subscription:
        if at_period_end:
            with self._translated("cancel the subscription at the end of its period"):
                subscription = self._client.v1.subscriptions.update(
                    subscription_id,
                    params={"cancel_at_period_end": True, "metadata": _cancel_tag(scope)},
                    options=_once(scope),
                )
            return _subscription(subscription)
        return self._cancel_now(subscription_id, scope)

    def _cancel_now(self, subscription_id: str, scope: CallScope) -> Subscription:
        """Tag, then cancel. Stripe takes no idempotency key on DELETE and answers a
        second cancel with 404, so a retry recognises its own cancel by the tag."""
        with self._translated("cancel the subscription"):
            current = self._client.v1.subscriptions.retrieve(subscription_id)
            if current.status in _ENDED:
                if _metadata(current).get(CANCEL_KEY) == scope.action_id:
                    return _subscription(current)
                raise RejectedError(f"Subscription {subscription_id} is already {current.status}.")
            self._client.v1.subscriptions.update(
                subscription_id, params={"metadata": _cancel_tag(scope)}, options=_once(scope)
            )
            cancelled = self._client.v1.subscriptions.cancel(subscription_id)
        return _subscription(cancelled)

    # -- payment --------------------------------------------------------------------------

    def pay_invoice(self, invoice_id: str, scope: CallScope, *, out_of_band: bool) -> Invoice:
        with self._translated("collect the invoice's payment"):
            if out_of_band:
                invoice = self._client.v1.invoices.pay(
                    invoice_id, params={"paid_out_of_band": True}, options=_once(scope)
                )
            else:
                invoice = self._client.v1.invoices.pay(invoice_id, options=_once(scope))
        return _invoice(invoice)

    # -- reading what moved ---------------------------------------------------------------

    def invoice_of_payment_intent(self, payment_intent: str) -> str | None:
        with self._translated("look up the payment's invoice"):
            payments = self._client.v1.invoice_payments.list(
                params={"payment": {"type": "payment_intent", "payment_intent": payment_intent}}
            )
        first = next(iter(payments.data), None)
        return _id(first.invoice) if first else None

    def retrieve_raw(self, kind: str, object_id: str) -> dict[str, Any]:
        retrieve = self._retrievers().get(kind)
        if retrieve is None:
            raise ValueError(f"cannot read a Stripe object of kind {kind!r}")
        with self._translated(f"read the {kind.replace('_', ' ')}"):
            found = retrieve(object_id)
        return found.to_dict(for_json=True)

    def _retrievers(self) -> dict[str, Callable[[str], stripe.StripeObject]]:
        v1 = self._client.v1
        return {
            "invoice": v1.invoices.retrieve,
            "subscription": v1.subscriptions.retrieve,
            "charge": v1.charges.retrieve,
            "refund": v1.refunds.retrieve,
            "dispute": v1.disputes.retrieve,
            "payment_intent": v1.payment_intents.retrieve,
            "customer": v1.customers.retrieve,
        }

    def invoices_created_since(self, since: datetime) -> list[Invoice]:
        with self._translated("list recent invoices"):
            listing = self._client.v1.invoices.list(
                params={"created": {"gte": _timestamp(since)}, "limit": 100}
            )
            found = [_invoice(i) for i in listing.auto_paging_iter()]
        return found[::-1]

    def refunds_created_since(self, since: datetime) -> list[Refund]:
        with self._translated("list recent refunds"):
            listing = self._client.v1.refunds.list(
                params={"created": {"gte": _timestamp(since)}, "limit": 100}
            )
            found = [_refund(r) for r in listing.auto_paging_iter()]
        return found[::-1]

    def list_subscriptions(self) -> list[Subscription]:
        with self._translated("list the subscriptions"):
            listing = self._client.v1.subscriptions.list(params={"status": "all", "limit": 100})
            found = [_subscription(s) for s in listing.auto_paging_iter()]
        return found[::-1]

    # -- errors ------------------------------------------------------------------------

    def _why_no_payment(self, invoice_id: str) -> RejectedError:
        invoice = self._client.v1.invoices.retrieve(invoice_id)
        if invoice.status == "paid":
            return RejectedError(
                f"Invoice {invoice_id} was marked paid outside Stripe: "
                "there is no Stripe payment to refund."
            )
        return RejectedError(
            f"Invoice {invoice_id} is {invoice.status}, not paid: there is no payment to refund."
        )

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        try:
            yield
        except stripe.StripeError as exc:
            raise translate(exc, doing, self._api_key) from exc


def translate(exc: stripe.StripeError, doing: str, api_key: str = "") -> ExternalError:
    """The port's error for a Stripe exception raised while trying to do `doing`."""
    said = _without_keys(exc.user_message or "", api_key)
    if isinstance(exc, stripe.RateLimitError):
        return RateLimited(f"Stripe is limiting requests; could not {doing} yet.")
    if isinstance(exc, stripe.APIConnectionError):
        return StripeUnavailable(f"Could not reach Stripe to {doing} (network error or timeout).")
    if isinstance(exc, stripe.APIError):
        status = exc.http_status or "no status"
        return StripeUnavailable(f"Stripe could not {doing} just now (HTTP {status}).")
    if isinstance(exc, stripe.CardError):
        return PaymentDeclined(f"The card was declined while trying to {doing}: {said}")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return StripeAccessDenied(
            f"Stripe did not accept the API key while trying to {doing}; check STRIPE_API_KEY."
        )
    if isinstance(exc, stripe.InvalidRequestError) and (
        exc.code == "resource_missing" or exc.http_status == 404
    ):
        return StripeObjectNotFound(f"Could not {doing}: {said}")
    if isinstance(exc, stripe.IdempotencyError):
        return InvalidStripeRequest(
            f"Stripe refused to {doing}: this step was already sent with different details."
        )
    return InvalidStripeRequest(f"Stripe refused to {doing}: {said}")


def _stripe_reason(reason: str) -> Literal["duplicate", "fraudulent", "requested_by_customer"]:
    """Stripe's own reason when the person's reason is exactly one of them."""
    word = reason.strip().lower()
    if word == "duplicate":
        return "duplicate"
    if word == "fraudulent":
        return "fraudulent"
    return "requested_by_customer"


def _without_keys(text: str, api_key: str) -> str:
    if api_key:
        text = text.replace(api_key, "[API key]")
    return _KEY_PATTERN.sub("[API key]", text)


def _tag(scope: CallScope) -> dict[str, str]:
    return {ACTION_KEY: scope.action_id}


def _cancel_tag(scope: CallScope) -> dict[str, str]:
    return {CANCEL_KEY: scope.action_id}


def _once(scope: CallScope) -> stripe.RequestOptions:
    return {"idempotency_key": scope.idempotency_key}


def _id(field: str | stripe.StripeObject | None) -> str:
    """The id of an expandable field, whether Stripe sent the id or the object."""
    if field is None:
        return ""
    return field if isinstance(field, str) else str(field["id"])


def _metadata(obj: stripe.StripeObject) -> dict[str, str]:
    raw = obj.to_dict().get("metadata") or {}
    return {str(key): str(value) for key, value in raw.items()}


def _first_for_action(objects: Iterator[_Object], action_id: str) -> _Object | None:
    return next((obj for obj in objects if _metadata(obj).get(ACTION_KEY) == action_id), None)


_ENDED = ("canceled", "incomplete_expired")


def _time(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


def _timestamp(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone is ambiguous")
    return int(moment.timestamp())


def _customer(customer: stripe.Customer, email: str = "") -> Customer:
    settings = customer.invoice_settings
    return Customer(
        id=customer.id,
        email=customer.email or email,
        name=customer.name,
        default_payment_method=(_id(settings.default_payment_method) or None) if settings else None,
    )


def _invoice_subscription(invoice: stripe.Invoice) -> str | None:
    details = invoice.parent.subscription_details if invoice.parent else None
    return (_id(details.subscription) or None) if details else None


def _price(price: stripe.Price) -> Price:
    recurring = price.recurring
    return Price(
        id=price.id,
        product=_id(price.product),
        amount=Money(price.unit_amount or 0, price.currency),
        interval=recurring.interval if recurring else "",
    )


def _subscription(subscription: stripe.Subscription) -> Subscription:
    item = subscription.items.data[0]
    price = _price(item.price)
    return Subscription(
        id=subscription.id,
        customer=_id(subscription.customer),
        status=subscription.status,
        price=price.id,
        product=price.product,
        amount=price.amount,
        interval=price.interval,
        cancel_at_period_end=subscription.cancel_at_period_end,
        current_period_end=_time(item.current_period_end),
        created=_time(subscription.created),
        canceled_at=_time(subscription.canceled_at),
        latest_invoice=_id(subscription.latest_invoice) or None,
        collection_method=subscription.collection_method,
        metadata=_metadata(subscription),
        plan=_product_name(item.price.product),
    )


def _product_name(product: str | stripe.Product | None) -> str | None:
    """The name of an expanded product; None when only its id came."""
    return product.name if isinstance(product, stripe.Product) else None


def _invoice(invoice: stripe.Invoice) -> Invoice:
    return Invoice(
        id=invoice.id,
        customer=_id(invoice.customer),
        status=invoice.status or "draft",
        number=invoice.number,
        amount_due=Money(invoice.amount_due, invoice.currency),
        amount_paid=Money(invoice.amount_paid, invoice.currency),
        hosted_invoice_url=invoice.hosted_invoice_url,
        invoice_pdf=invoice.invoice_pdf,
        metadata=_metadata(invoice),
        amount_remaining=Money(invoice.amount_remaining, invoice.currency),
        subscription=_invoice_subscription(invoice),
        due_date=_time(invoice.due_date),
        created=_time(invoice.created),
        collection_method=invoice.collection_method,
    )


def _refund(refund: stripe.Refund) -> Refund:
    return Refund(
        id=refund.id,
        amount=Money(refund.amount, refund.currency),
        status=refund.status or "pending",
        payment_intent=_id(refund.payment_intent),
        metadata=_metadata(refund),
        created=_time(refund.created),
        charge=_id(refund.charge) or None,
    )
