"""The action request's state machine; every transition is a compare-and-set update.

    received ─► pending ─► approved ─► executing ─► succeeded
        │  ▲       │  ▲  ▲     │                │
        ▼  └ edit ─┤  │  └ lapsed ┘ (not run    │
    rejected       │  └────────── in time)      │
    cancelled      │  ▲                          ▼
                   │  └── (retry, when lapsed) failed ─► (retry) approved
                   ├─► denied
                   ├─► expired
                   └─► cancelled (withdrawn; also from received)

Two clicks, two processes or a retry racing for the same transition: the UPDATE's
WHERE names the state it expects, so exactly one of them changes a row.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from governance import approvals, outcomes
from governance.errors import AlreadyDecided, RequestNotFound
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
    outcomes.on_transition(session, request)  # an API client's callback, at an end state


def load_request(session: Session, request_id: int) -> ActionRequest:
    request = session.get(ActionRequest, request_id)
    if request is None:
        raise RequestNotFound(f"There is no request #{request_id}.")
    return request


def lock_request(session: Session, request_id: int) -> ActionRequest:
    """Load the request and hold its row until commit: decisions on it queue up."""
    request = session.execute(
        select(ActionRequest).where(ActionRequest.id == request_id).with_for_update()
    ).scalar_one_or_none()
    if request is None:
        raise RequestNotFound(f"There is no request #{request_id}.")
    return request


def approvers_so_far(session: Session, request: ActionRequest) -> list[str]:
    """Who approved what the card shows now: the same payload, and not before a lapse."""
    return [given.user_id for given in approvals.counting(session, request)]
