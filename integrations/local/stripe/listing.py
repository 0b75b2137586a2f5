"""Stripe's list pagination and `expand[]`, applied to whatever an endpoint answers."""

from __future__ import annotations

import copy
from collections.abc import Callable

from integrations.local.stripe import failures as fail
from integrations.local.stripe import objects as build
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.params import Params
from integrations.local.stripe.state import StripeState


def page(
    state: StripeState,
    kind: str,
    params: Params,
    url: str,
    keep: Callable[[StripeObject], bool] = lambda _: True,
) -> StripeObject:
    """Newest first, `limit` at a time, from `starting_after` or up to `ending_before`."""
    items = [item for item in state.newest_first(kind) if keep(item)]
    limit = params.limit()
    after, before = params.text("starting_after"), params.text("ending_before")
    if after is not None:
        items = items[_position(items, after, "starting_after") + 1 :]
    elif before is not None:
        earlier = items[: _position(items, before, "ending_before")]
        return build.list_of(earlier[-limit:], url, has_more=len(earlier) > limit)
    return build.list_of(items[:limit], url, has_more=len(items) > limit)


def _position(items: list[StripeObject], object_id: str, param: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == object_id:
            return index
    raise fail.no_such("object", object_id, param=param)


def matching(params: Params, *fields: str) -> Callable[[StripeObject], bool]:
    """Keep objects whose `fields` equal the filters given in the request."""
    wanted = {field: params.text(field) for field in fields}
    given = {field: value for field, value in wanted.items() if value is not None}
    return lambda item: all(item.get(field) == value for field, value in given.items())


_BOUNDS = {
    "gt": lambda value, bound: value > bound,
    "gte": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "lte": lambda value, bound: value <= bound,
}


def created(params: Params, field: str = "created") -> Callable[[StripeObject], bool]:
    """Stripe's range filter: `created=<t>` or `created[gte]=<t>` (gt, gte, lt, lte)."""
    raw = params.values.get(field)
    if raw is None or raw == "":
        return lambda _: True
    if isinstance(raw, str):
        exact = params.integer(field)
        return lambda item: item[field] == exact
    bounds = params.nested(field, _BOUNDS)
    given = {name: bounds.integer(name) for name in _BOUNDS if bounds.has(name)}
    return lambda item: all(
        _BOUNDS[name](item[field], bound) for name, bound in given.items() if bound is not None
    )


def flag(params: Params, field: str) -> Callable[[StripeObject], bool]:
    """Keep objects whose boolean `field` is the `true`/`false` the request asked for."""
    if not params.has(field):
        return lambda _: True
    wanted = params.flag(field, default=True)
    return lambda item: item.get(field) is wanted


def every(*tests: Callable[[StripeObject], bool]) -> Callable[[StripeObject], bool]:
    return lambda item: all(test(item) for test in tests)


def expand(state: StripeState, obj: StripeObject, paths: list[str]) -> StripeObject:
    result = copy.deepcopy(obj)
    for path in paths:
        _expand(state, result, path.split("."), path)
    return result


def _expand(state: StripeState, node: StripeObject, parts: list[str], path: str) -> None:
    if node.get("object") == "list" and parts[0] == "data":
        for item in node["data"]:
            _expand(state, item, parts[1:], path)
        return
    key, rest = parts[0], parts[1:]
    value = node.get(key)
    if key == "payments" and node.get("object") == "invoice":
        # Included only when asked for, as in Stripe's API since invoice payments.
        payments = [p for p in state.newest_first("invoice_payment") if p["invoice"] == node["id"]]
        node["payments"] = build.list_of(payments, f"/v1/invoices/{node['id']}/payments")
    elif isinstance(value, str) and value in state.objects:
        node[key] = copy.deepcopy(state.objects[value])
    elif key not in node or not (value is None or isinstance(value, dict)):
        raise fail.invalid("expand", f"This property cannot be expanded ({path}).")
    if rest and isinstance(node[key], dict):
        _expand(state, node[key], rest, path)
