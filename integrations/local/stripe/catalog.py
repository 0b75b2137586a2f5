"""Products and prices: what the fake does, and what it refuses, as Stripe."""

from __future__ import annotations

import copy

from integrations.local.stripe import catalog_objects as build
from integrations.local.stripe import failures as fail
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.state import StripeState

INTERVALS = ("day", "week", "month", "year")
_MAX_COUNT = {"day": 1095, "week": 156, "month": 36, "year": 3}  # at most three years


def create_product(
    state: StripeState,
    name: str,
    description: str | None,
    active: bool,
    metadata: dict[str, str],
) -> StripeObject:
    made = state.add(build.product(state.now(), name, description, active, metadata))
    state.emit("product.created", made)
    return made


def update_product(
    state: StripeState, product_id: str, changes: dict[str, object], metadata: dict[str, str]
) -> StripeObject:
    found = state.get("product", product_id)
    before = copy.deepcopy(found)
    found.update(changes, metadata=metadata, updated=state.now())
    state.emit("product.updated", found, before=before)
    return found


def create_price(
    state: StripeState,
    product_id: str,
    unit_amount: int,
    currency: str,
    recurring: dict[str, object] | None,
    lookup_key: str | None,
    nickname: str | None,
    metadata: dict[str, str],
) -> StripeObject:
    state.get("product", product_id, param="product")
    if recurring is not None:
        _check_interval(str(recurring["interval"]), int(str(recurring["interval_count"])))
    if lookup_key is not None:
        _check_lookup_key_free(state, lookup_key)
    made = state.add(
        build.price(
            state.now(),
            product_id,
            unit_amount,
            currency,
            recurring,
            lookup_key,
            nickname,
            metadata,
        )
    )
    state.emit("price.created", made)
    return made


def update_price(
    state: StripeState, price_id: str, changes: dict[str, object], metadata: dict[str, str]
) -> StripeObject:
    found = state.get("price", price_id)
    before = copy.deepcopy(found)
    found.update(changes, metadata=metadata)
    state.emit("price.updated", found, before=before)
    return found


def _check_interval(interval: str, count: int) -> None:
    if count > _MAX_COUNT[interval]:
        raise fail.invalid(
            "recurring[interval_count]",
            "Maximum of three years interval allowed (3 years, 36 months, or 156 weeks).",
        )


def _check_lookup_key_free(state: StripeState, lookup_key: str) -> None:
    for other in state.newest_first("price"):
        if other["lookup_key"] == lookup_key and other["active"]:
            raise fail.invalid(
                "lookup_key",
                f"A price (`{other['id']}`) already uses that lookup key. Pass "
                "`transfer_lookup_key=true` to move the lookup key to this new price.",
            )
