"""How the fake's endpoints are declared: a method, a path template, a handler, its params."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from integrations.local.stripe.listing import created, every, matching, page
from integrations.local.stripe.objects import StripeObject
from integrations.local.stripe.params import LIST_PARAMS, Params
from integrations.local.stripe.state import StripeState

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


def dated(kind: str, url: str, *filters: str) -> Handler:
    """A list filtered by equal fields and by `created` ranges."""
    return lambda state, params, _: page(
        state, kind, params, url, every(matching(params, *filters), created(params))
    )


def allowed(*names: str) -> frozenset[str]:
    return frozenset(names)


def listed(*names: str) -> frozenset[str]:
    return LIST_PARAMS | frozenset(names)
