"""Endpoints for recurring billing: customer updates, products, prices, subscriptions,
payment methods, disputes and marking invoices uncollectible."""

from __future__ import annotations

from integrations.local.stripe import billing as billing
from integrations.local.stripe import catalog as catalog
from integrations.local.stripe import customers as customers
from integrations.local.stripe import failures as fail
from integrations.local.stripe import subscriptions as subscriptions
from integrations.local.stripe.listing import created, every, flag, matching, page
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.params import Params
from integrations.local.stripe.routing import Route, allowed, dated, listed, retrieve
from integrations.local.stripe.state import StripeState

# -- customers ------------------------------------------------------------------------------


def update_customer(state: StripeState, params: Params, customer_id: str) -> StripeObject:
    customer = state.get("customer", customer_id)
    settings = params.nested("invoice_settings", ("default_payment_method",))
    changes = {name: params.text(name) for name in ("email", "name", "description")}
    return customers.update_customer(
        state,
        customer_id,
        {name: value for name, value in changes.items() if params.has(name)},
        params.updated_metadata(customer["metadata"]) if params.has("metadata") else None,
        settings.text("default_payment_method"),
    )


# -- products and prices ----------------------------------------------------------------------


def create_product(state: StripeState, params: Params, _: str) -> StripeObject:
    return catalog.create_product(
        state,
        params.text("name", required=True) or "",
        params.text("description"),
        params.flag("active", default=True),
        params.metadata(),
    )


def update_product(state: StripeState, params: Params, product_id: str) -> StripeObject:
    product = state.get("product", product_id)
    changes: dict[str, object] = {}
    for name in ("name", "description"):
        if params.has(name):
            changes[name] = params.text(name)
    if params.has("active"):
        changes["active"] = params.flag("active", default=True)
    return catalog.update_product(
        state, product_id, changes, params.updated_metadata(product["metadata"])
    )


def list_products(state: StripeState, params: Params, _: str) -> StripeObject:
    keep = every(flag(params, "active"), created(params))
    return page(state, "product", params, "/v1/products", keep)


def create_price(state: StripeState, params: Params, _: str) -> StripeObject:
    recurring: dict[str, object] | None = None
    if params.has("recurring"):
        cycle = params.nested("recurring", ("interval", "interval_count", "usage_type"))
        recurring = {
            "interval": cycle.choice("interval", catalog.INTERVALS)
            or cycle.text("interval", required=True),
            "interval_count": cycle.integer("interval_count", minimum=1) or 1,
        }
    return catalog.create_price(
        state,
        params.text("product", required=True) or "",
        params.integer("unit_amount", required=True) or 0,
        (params.text("currency", required=True) or "").lower(),
        recurring,
        params.text("lookup_key"),
        params.text("nickname"),
        params.metadata(),
    )


def update_price(state: StripeState, params: Params, price_id: str) -> StripeObject:
    price = state.get("price", price_id)
    changes: dict[str, object] = {}
    if params.has("active"):
        changes["active"] = params.flag("active", default=True)
    if params.has("nickname"):
        changes["nickname"] = params.text("nickname")
    return catalog.update_price(
        state, price_id, changes, params.updated_metadata(price["metadata"])
    )


def list_prices(state: StripeState, params: Params, _: str) -> StripeObject:
    params.choice("type", ("one_time", "recurring"))
    lookup_keys = params.strings("lookup_keys")
    keep = every(
        matching(params, "product", "type", "currency"),
        flag(params, "active"),
        created(params),
        lambda price: not lookup_keys or price["lookup_key"] in lookup_keys,
    )
    return page(state, "price", params, "/v1/prices", keep)


# -- subscriptions -----------------------------------------------------------------------------


def create_subscription(state: StripeState, params: Params, _: str) -> StripeObject:
    items = params.items("items", ("price", "quantity", "metadata"))
    if not items:
        params.text("items", required=True)
    if len(items) != 1:
        raise fail.invalid("items", "The fake Stripe bills exactly one item per subscription.")
    if items[0].integer("quantity", minimum=1) not in (None, 1):
        raise fail.invalid("items[0][quantity]", "The fake Stripe bills a quantity of 1.")
    methods = subscriptions.COLLECTION_METHODS
    return subscriptions.create(
        state,
        params.text("customer", required=True) or "",
        items[0].text("price", required=True) or "",
        collection_method=params.choice("collection_method", methods, methods[0]) or "",
        days_until_due=params.integer("days_until_due"),
        default_payment_method=params.text("default_payment_method"),
        payment_behavior=params.choice(
            "payment_behavior", subscriptions.PAYMENT_BEHAVIORS, "allow_incomplete"
        )
        or "",
        description=params.text("description"),
        metadata=params.metadata(),
    )


def update_subscription(state: StripeState, params: Params, subscription_id: str) -> StripeObject:
    subscription = state.get("subscription", subscription_id)
    cancel = params.flag("cancel_at_period_end", default=False)
    return subscriptions.update(
        state,
        subscription_id,
        cancel_at_period_end=cancel if params.has("cancel_at_period_end") else None,
        default_payment_method=params.text("default_payment_method"),
        description=params.text("description"),
        metadata=params.updated_metadata(subscription["metadata"]),
    )


def cancel_subscription(state: StripeState, params: Params, subscription_id: str) -> StripeObject:
    params.flag("invoice_now", default=False)
    params.flag("prorate", default=False)
    return subscriptions.cancel(state, subscription_id)


def list_subscriptions(state: StripeState, params: Params, _: str) -> StripeObject:
    status = params.choice("status", subscriptions.STATUSES)
    price = params.text("price")
    params.choice("collection_method", subscriptions.COLLECTION_METHODS)
    keep = every(
        matching(params, "customer", "collection_method"),
        created(params),
        lambda sub: _has_status(sub, status),
        lambda sub: price is None or any(i["price"]["id"] == price for i in sub["items"]["data"]),
    )
    return page(state, "subscription", params, "/v1/subscriptions", keep)


def _has_status(subscription: StripeObject, status: str | None) -> bool:
    """Stripe lists subscriptions that are not canceled unless asked for a status."""
    current: str = subscription["status"]
    if status == "all":
        return True
    if status == "ended":
        return current in subscriptions.ENDED
    if status is None:
        return current != "canceled"
    return current == status


# -- invoices ----------------------------------------------------------------------------------


def mark_uncollectible(state: StripeState, params: Params, invoice_id: str) -> StripeObject:
    return billing.mark_uncollectible(state, invoice_id)


BILLING_ROUTES = (
    Route(
        "POST",
        "/v1/customers/{id}",
        update_customer,
        allowed("email", "name", "description", "metadata", "invoice_settings"),
    ),
    Route("GET", "/v1/payment_methods/{id}", retrieve("payment_method")),
    Route(
        "POST",
        "/v1/products",
        create_product,
        allowed("name", "description", "active", "metadata"),
    ),
    Route("GET", "/v1/products", list_products, listed("active", "created")),
    Route("GET", "/v1/products/{id}", retrieve("product")),
    Route(
        "POST",
        "/v1/products/{id}",
        update_product,
        allowed("name", "description", "active", "metadata"),
    ),
    Route(
        "POST",
        "/v1/prices",
        create_price,
        allowed(
            "product",
            "unit_amount",
            "currency",
            "recurring",
            "lookup_key",
            "nickname",
            "metadata",
        ),
    ),
    Route(
        "GET",
        "/v1/prices",
        list_prices,
        listed("product", "active", "type", "currency", "lookup_keys", "created"),
    ),
    Route("GET", "/v1/prices/{id}", retrieve("price")),
    Route("POST", "/v1/prices/{id}", update_price, allowed("active", "nickname", "metadata")),
    Route(
        "POST",
        "/v1/subscriptions",
        create_subscription,
        allowed(
            "customer",
            "items",
            "collection_method",
            "days_until_due",
            "default_payment_method",
            "payment_behavior",
            "description",
            "metadata",
        ),
    ),
    Route(
        "GET",
        "/v1/subscriptions",
        list_subscriptions,
        listed("customer", "price", "status", "collection_method", "created"),
    ),
    Route("GET", "/v1/subscriptions/{id}", retrieve("subscription")),
    Route(
        "POST",
        "/v1/subscriptions/{id}",
        update_subscription,
        allowed("cancel_at_period_end", "default_payment_method", "description", "metadata"),
    ),
    Route(
        "DELETE",
        "/v1/subscriptions/{id}",
        cancel_subscription,
        allowed("invoice_now", "prorate"),
    ),
    Route("POST", "/v1/invoices/{id}/mark_uncollectible", mark_uncollectible),
    Route(
        "GET",
        "/v1/disputes",
        dated("dispute", "/v1/disputes", "charge", "payment_intent"),
        listed("charge", "payment_intent", "created"),
    ),
    Route("GET", "/v1/disputes/{id}", retrieve("dispute")),
)
