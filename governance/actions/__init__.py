"""The kinds of action a request can ask for, by action name."""

from __future__ import annotations

from governance.actions.base import ActionKind
from governance.actions.invoice import InvoiceAction
from governance.actions.pay import PayAction
from governance.actions.refund import RefundAction
from governance.actions.subscription import CancelSubscriptionAction, SubscriptionAction
from governance.errors import GovernanceError

KINDS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        InvoiceAction(),
        RefundAction(),
        SubscriptionAction(),
        CancelSubscriptionAction(),
        PayAction(),
    )
}


def kind_of(action: str) -> ActionKind:
    try:
        return KINDS[action]
    except KeyError:
        raise GovernanceError(f"unknown action {action!r}") from None
