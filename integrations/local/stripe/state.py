"""The fake Stripe account: its objects, their hidden fields, and the events they raise."""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from integrations.local.stripe import failures as fail
from integrations.local.stripe import objects as build
from integrations.local.stripe.objects import StripeObject


@dataclass
class RequestContext:
    """The API request being handled; events it causes name it, as Stripe's do."""

    request_id: str | None = None
    idempotency_key: str | None = None


class EventSink(Protocol):
    def subscribers(self, event_type: str) -> int: ...

    def publish(self, event: StripeObject) -> None: ...


class StripeState:
    def __init__(self, api_version: str, sink: EventSink) -> None:
        self.api_version = api_version
        self.objects: dict[str, StripeObject] = {}
        # Fields Stripe keeps but does not show on the object (e.g. days_until_due).
        self.hidden: dict[str, dict[str, Any]] = defaultdict(dict)
        self.context = RequestContext()
        self._ids_by_kind: dict[str, list[str]] = defaultdict(list)
        self._sink = sink
        self._last_time = 0
        self.offset = 0  # seconds the test has moved the clock forward

    def now(self) -> int:
        # Never goes back, so `created` orders objects like Stripe's lists do.
        self._last_time = max(self._last_time, int(time.time()) + self.offset)
        return self._last_time

    def add(self, obj: StripeObject) -> StripeObject:
        self.objects[obj["id"]] = obj
        self._ids_by_kind[obj["object"]].append(obj["id"])
        return obj

    def get(self, kind: str, object_id: str, *, param: str = "id") -> StripeObject:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise fail.no_such(kind, object_id, param=param)
        return obj

    def newest_first(self, kind: str) -> list[StripeObject]:
        return [self.objects[object_id] for object_id in reversed(self._ids_by_kind[kind])]

    def emit(
        self, type_: str, obj: StripeObject, *, before: StripeObject | None = None
    ) -> StripeObject:
        """Record an event carrying a snapshot of `obj`; `before` adds previous_attributes."""
        previous = None
        if before is not None:
            previous = {key: value for key, value in before.items() if obj.get(key) != value}
        event = build.event(
            self.now(),
            type_,
            copy.deepcopy(obj),
            self.api_version,
            self.context.request_id,
            self.context.idempotency_key,
            self._sink.subscribers(type_),
            previous,
        )
        self.add(event)
        self._sink.publish(copy.deepcopy(event))
        return event
