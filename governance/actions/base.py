"""What every kind of action request defines: how it reads, what it costs, how it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from governance.money import Money
from governance.ports import CallScope, PaymentGateway

Payload = dict[str, Any]


def money_to_json(amount: Money) -> dict[str, Any]:
    return {"minor": amount.minor, "currency": amount.currency}


def money_from_json(data: dict[str, Any]) -> Money:
    return Money(int(data["minor"]), str(data["currency"]))


class StepRunner(Protocol):
    """Runs one named step at most once: a step already confirmed returns its stored result."""

    def __call__(self, name: str, call: Callable[[CallScope], Payload]) -> Payload: ...


@dataclass(frozen=True)
class EditableField:
    """A part of a request a person may change before it is approved (the Edit modal)."""

    name: str  # the payload key
    label: str
    value: str  # the current value, as text to edit
    multiline: bool = False
    max_length: int = 500


@dataclass(frozen=True)
class Outcome:
    """What an execution produced, shown on the card (`Executed …`) and kept on the request."""

    summary: str
    object_id: str
    details: Payload


class ActionKind(Protocol):
    name: str
    title: str
    needs_preparation: bool

    def amount(self, payload: Payload) -> Money | None: ...

    def fields(self, payload: Payload) -> list[tuple[str, str]]:
        """(label, value) pairs for the card; values may hold outside text."""
        ...

    def prepare(self, payload: Payload, gateway: PaymentGateway) -> Payload:
        """Read what the card must show before anyone approves; may raise ActionRefused."""
        ...

    def execute(self, payload: Payload, gateway: PaymentGateway, step: StepRunner) -> Outcome: ...

    def editable(self, payload: Payload) -> list[EditableField]:
        """What of this request the Edit modal offers; empty: it cannot be edited."""
        ...

    def edited(self, payload: Payload, values: dict[str, str], currency: str) -> Payload:
        """`payload` with the edited `values`; raises InvalidEdit naming the field."""
        ...
