"""The action request's state machine; every transition is a compare-and-set update.

    received ─► pending ─► approved ─► executing ─► succeeded
        │          │  ▲                    │
        ▼          │  └──── (retry) ◄──── failed
    rejected       ├─► denied
                   ├─► expired
                   └─► cancelled

Two clicks, two processes or a retry racing for the same transition: the UPDATE's
WHERE names the state it expects, so exactly one of them changes a row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from governance.errors import AlreadyDecided
from storage.models import ActionRequest
from storage.types import utcnow


class State(StrEnum):
    RECEIVED = "received"
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


ALLOWED: dict[State, frozenset[State]] = {
    State.RECEIVED: frozenset({State.PENDING, State.REJECTED, State.CANCELLED}),
    # PENDING → PENDING is an edit; → RECEIVED an edit that Stripe must check again.
    State.PENDING: frozenset(
        {
            State.PENDING,
            State.RECEIVED,
            State.APPROVED,
            State.DENIED,
            State.EXPIRED,
            State.CANCELLED,
        }
    ),
    # → PENDING: approved too long ago to run without being confirmed again.
    State.APPROVED: frozenset({State.EXECUTING, State.PENDING}),
    State.EXECUTING: frozenset({State.EXECUTING, State.SUCCEEDED, State.FAILED}),
    State.FAILED: frozenset({State.APPROVED, State.PENDING}),
}
FINAL = frozenset({State.SUCCEEDED, State.DENIED, State.EXPIRED, State.CANCELLED, State.REJECTED})


def transition(
    session: Session,
    request: ActionRequest,
    to: State,
    *,
    expect: dict[str, Any] | None = None,
    **changes: Any,
) -> None:
    """Move `request` from its current state to `to`, or raise AlreadyDecided.

    `expect` adds columns that must still hold their read values (a lease owner, say).
    """
    current = State(request.state)
    if to not in ALLOWED.get(current, frozenset()):
        raise AlreadyDecided(f"request #{request.id} is {current.value}, it cannot become {to}")
    conditions = [ActionRequest.id == request.id, ActionRequest.state == current.value]
    for column, value in (expect or {}).items():
        conditions.append(getattr(ActionRequest, column) == value)
    values = {"state": to.value, "updated_at": utcnow(), **changes}
    result = session.execute(
        update(ActionRequest)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyDecided(f"request #{request.id} changed while it was being decided")
    session.refresh(request)
