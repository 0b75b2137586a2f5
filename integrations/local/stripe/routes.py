"""The endpoints the fake serves: each reads its parameters as Stripe does and answers JSON."""

from __future__ import annotations

from typing import Any

from integrations.local.stripe import billing as billing
from integrations.local.stripe import failures as fail
from integrations.local.stripe import payments as payments
from integrations.local.stripe.billing_routes import BILLING_ROUTES
from integrations.local.stripe.listing import created, every, expand, matching, page
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.params import Params
from integrations.local.stripe.routing import Route, allowed, dated, listed, listing, retrieve
from integrations.local.stripe.state import StripeState


def create_customer(state: StripeState, params: Params, _: str) -> StripeObject:
    return billing.create_customer(
        state,
        params.text("email"),
        params.text("name"),
        params.text("description"),
        params.metadata(),
    )


def create_invoice(state: StripeState, params: Params, _: str) -> StripeObject:
    methods = ("charge_automatically", "send_invoice")
    behaviours = ("exclude", "include")
    return billing.create_invoice(
        state,
        params.text("customer", required=True) or "",
        currency=params.text("currency"),
        collection_method=params.choice("collection_method", methods, methods[0]) or "",
        days_until_due=params.integer("days_until_due"),
        description=params.text("description"),
        metadata=params.metadata(),
        auto_advance=params.flag("auto_advance", default=False),
        include_pending_items=params.choice("pending_invoice_items_behavior", behaviours, "exclude")
        == "include",
    )


def create_invoice_item(state: StripeState, params: Params, _: str) -> StripeObject:
    return billing.create_invoice_item(
        state,
        params.text("customer", required=True) or "",
        params.text("invoice"),
        params.integer("amount", required=True) or 0,
        params.text("currency"),
        params.text("description"),
        params.metadata(),
    )


def list_invoices(state: StripeState, params: Params, _: str) -> StripeObject:
    params.choice("status", ("draft", "open", "paid", "uncollectible", "void"))
    params.choice("collection_method", ("charge_automatically", "send_invoice"))
    subscription = params.text("subscription")
    keep = every(
        matching(params, "customer", "status", "collection_method"),
        created(params),
        lambda invoice: subscription is None or billing.subscription_of_id(invoice) == subscription,
    )
    return page(state, "invoice", params, "/v1/invoices", keep)


def invoice_lines(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    lines: StripeObject = state.get("invoice", invoice_id)["lines"]
    return lines


def finalize(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    params.flag("auto_advance", default=False)
    return billing.finalize(state, invoice_id)


def send(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    return billing.send(state, invoice_id)


def pay(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    return billing.pay(
        state,
        invoice_id,
        out_of_band=params.flag("paid_out_of_band", default=False),
        payment_method=params.text("payment_method"),
    )


def void(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    return billing.void(state, invoice_id)


def list_invoice_payments(state: StripeState, params: Params, _: str) -> StripeObject:
    params.choice("status", ("canceled", "open", "paid"))
    paid_by = params.nested("payment", ("type", "payment_intent", "payment_record"))
    if params.has("payment"):
        paid_by.text("type", required=True)
        paid_by.choice("type", ("payment_intent", "payment_record"))
    wanted = {key: value for key, value in paid_by.values.items() if value}
    keep = every(
        matching(params, "invoice", "status"),
        lambda item: all(item["payment"].get(key) == value for key, value in wanted.items()),
    )
    return page(state, "invoice_payment", params, "/v1/invoice_payments", keep)


def create_refund(state: StripeState, params: Params, _: str) -> StripeObject:
    return payments.create_refund(
        state,
        params.text("payment_intent"),
        params.text("charge"),
        params.integer("amount", minimum=1),
        params.choice("reason", payments.REFUND_REASONS),
        params.metadata(),
    )


ROUTES = (
    Route(
        "POST",
        "/v1/customers",
        create_customer,
        allowed("email", "name", "description", "metadata"),
    ),
    Route(
        "GET",
        "/v1/customers",
        dated("customer", "/v1/customers", "email"),
        listed("email", "created"),
    ),
    Route("GET", "/v1/customers/{id}", retrieve("customer")),
    Route(
        "POST",
        "/v1/invoiceitems",
        create_invoice_item,
        allowed("customer", "invoice", "amount", "currency", "description", "metadata"),
    ),
    Route(
        "GET",
        "/v1/invoiceitems",
        listing("invoiceitem", "/v1/invoiceitems", "customer", "invoice"),
        listed("customer", "invoice"),
    ),
    Route("GET", "/v1/invoiceitems/{id}", retrieve("invoiceitem")),
    Route(
        "POST",
        "/v1/invoices",
        create_invoice,
        allowed(
            "customer",
            "collection_method",
            "days_until_due",
            "currency",
            "description",
            "metadata",
            "auto_advance",
            "pending_invoice_items_behavior",
        ),
    ),
    Route(
        "GET",
        "/v1/invoices",
        list_invoices,
        listed("customer", "status", "subscription", "collection_method", "created"),
    ),
    Route("GET", "/v1/invoices/{id}", retrieve("invoice")),
    Route("GET", "/v1/invoices/{id}/lines", invoice_lines, listed()),
    Route("POST", "/v1/invoices/{id}/finalize", finalize, allowed("auto_advance")),
    Route("POST", "/v1/invoices/{id}/send", send),
    Route("POST", "/v1/invoices/{id}/pay", pay, allowed("paid_out_of_band", "payment_method")),
    Route("POST", "/v1/invoices/{id}/void", void),
    Route(
        "GET",
        "/v1/invoice_payments",
        list_invoice_payments,
        listed("invoice", "status", "payment"),
    ),
    Route("GET", "/v1/invoice_payments/{id}", retrieve("invoice_payment")),
    Route(
        "GET",
        "/v1/payment_intents",
        dated("payment_intent", "/v1/payment_intents", "customer"),
        listed("customer", "created"),
    ),
    Route("GET", "/v1/payment_intents/{id}", retrieve("payment_intent")),
    Route(
        "GET",
        "/v1/charges",
        dated("charge", "/v1/charges", "customer", "payment_intent"),
        listed("customer", "payment_intent", "created"),
    ),
    Route("GET", "/v1/charges/{id}", retrieve("charge")),
    Route(
        "POST",
        "/v1/refunds",
        create_refund,
        allowed("payment_intent", "charge", "amount", "reason", "metadata"),
    ),
    Route(
        "GET",
        "/v1/refunds",
        dated("refund", "/v1/refunds", "payment_intent", "charge"),
        listed("payment_intent", "charge", "created"),
    ),
    Route("GET", "/v1/refunds/{id}", retrieve("refund")),
    Route("GET", "/v1/events", dated("event", "/v1/events", "type"), listed("type", "created")),
    Route("GET", "/v1/events/{id}", retrieve("event")),
    *BILLING_ROUTES,
)


def handle(state: StripeState, method: str, path: str, values: dict[str, Any]) -> StripeObject:
    """Run the endpoint for `method path`; Stripe's errors are raised as `StripeFailure`."""
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if route.method == method and match:
            params = Params(values, route.allowed)
            result = route.handler(state, params, match.groupdict().get("id", ""))
            return expand(state, result, params.expand())
    raise fail.unrecognized_url(method, path)
