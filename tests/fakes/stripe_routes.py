"""The endpoints the fake serves: each reads its parameters as Stripe does and answers JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import stripe_billing as billing
from tests.fakes import stripe_failures as fail
from tests.fakes import stripe_payments as payments
from tests.fakes.stripe_listing import expand, matching, page
from tests.fakes.stripe_objects import StripeObject
from tests.fakes.stripe_params import LIST_PARAMS, Params
from tests.fakes.stripe_state import StripeState

Handler = Callable[[StripeState, Params, str], StripeObject]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    allowed: frozenset[str] = field(default_factory=frozenset)

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{id\}", "(?P<id>[^/]+)", self.template))


def retrieve(kind: str) -> Handler:
    return lambda state, params, object_id: state.get(kind, object_id)


def listing(kind: str, url: str, *filters: str) -> Handler:
    return lambda state, params, _: page(state, kind, params, url, matching(params, *filters))


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
    return page(state, "invoice", params, "/v1/invoices", matching(params, "customer", "status"))


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
    keep = matching(params, "invoice", "status")
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


def _allowed(*names: str) -> frozenset[str]:
    return frozenset(names)


def _listed(*names: str) -> frozenset[str]:
    return LIST_PARAMS | frozenset(names)


ROUTES = (
    Route(
        "POST",
        "/v1/customers",
        create_customer,
        _allowed("email", "name", "description", "metadata"),
    ),
    Route("GET", "/v1/customers", listing("customer", "/v1/customers", "email"), _listed("email")),
    Route("GET", "/v1/customers/{id}", retrieve("customer")),
    Route(
        "POST",
        "/v1/invoiceitems",
        create_invoice_item,
        _allowed("customer", "invoice", "amount", "currency", "description", "metadata"),
    ),
    Route(
        "GET",
        "/v1/invoiceitems",
        listing("invoiceitem", "/v1/invoiceitems", "customer", "invoice"),
        _listed("customer", "invoice"),
    ),
    Route("GET", "/v1/invoiceitems/{id}", retrieve("invoiceitem")),
    Route(
        "POST",
        "/v1/invoices",
        create_invoice,
        _allowed(
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
    Route("GET", "/v1/invoices", list_invoices, _listed("customer", "status")),
    Route("GET", "/v1/invoices/{id}", retrieve("invoice")),
    Route("GET", "/v1/invoices/{id}/lines", invoice_lines, _listed()),
    Route("POST", "/v1/invoices/{id}/finalize", finalize, _allowed("auto_advance")),
    Route("POST", "/v1/invoices/{id}/send", send),
    Route("POST", "/v1/invoices/{id}/pay", pay, _allowed("paid_out_of_band", "payment_method")),
    Route("POST", "/v1/invoices/{id}/void", void),
    Route("GET", "/v1/invoice_payments", list_invoice_payments, _listed("invoice", "status")),
    Route("GET", "/v1/invoice_payments/{id}", retrieve("invoice_payment")),
    Route(
        "GET",
        "/v1/payment_intents",
        listing("payment_intent", "/v1/payment_intents", "customer"),
        _listed("customer"),
    ),
    Route("GET", "/v1/payment_intents/{id}", retrieve("payment_intent")),
    Route(
        "GET",
        "/v1/charges",
        listing("charge", "/v1/charges", "customer", "payment_intent"),
        _listed("customer", "payment_intent"),
    ),
    Route("GET", "/v1/charges/{id}", retrieve("charge")),
    Route(
        "POST",
        "/v1/refunds",
        create_refund,
        _allowed("payment_intent", "charge", "amount", "reason", "metadata"),
    ),
    Route(
        "GET",
        "/v1/refunds",
        listing("refund", "/v1/refunds", "payment_intent", "charge"),
        _listed("payment_intent", "charge"),
    ),
    Route("GET", "/v1/refunds/{id}", retrieve("refund")),
    Route("GET", "/v1/events", listing("event", "/v1/events", "type"), _listed("type")),
    Route("GET", "/v1/events/{id}", retrieve("event")),
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
