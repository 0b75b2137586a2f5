"""What a request is and how it ended, as JSON: the REST API's view and its callbacks.

A request asked over the API with a `callback_url` gets its outcome POSTed there when it
reaches an end state. The message is queued in the transaction of that transition (the
outbox), so an outcome is never announced for a change that was rolled back, nor lost
because the process died right after committing it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from governance import approvals
from storage import outbox
from storage.models import ActionRequest, OutboxMessage, table_of
from storage.types import utcnow

API_ROOT = "/api/business"
# States after which nothing happens unless a person acts again (a failure may be retried).
ENDED = frozenset({"succeeded", "failed", "denied", "expired", "cancelled", "rejected"})
_HIDDEN_ORIGIN = frozenset({"response_url", "callback_url"})


def status_url(request_id: int) -> str:
    return f"{API_ROOT}/actions/{request_id}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def approvals_of(session: Session | Connection, request: ActionRequest) -> list[dict[str, Any]]:
    """Who approved what the request holds now (the same payload, not before a lapse)."""
    return [
        {"user_id": given.user_id, "at": _iso(given.at)}
        for given in approvals.counting(session, request)
    ]


def describe(request: ActionRequest, approvals: list[dict[str, Any]]) -> dict[str, Any]:
    """The request as the API shows it; JSON-ready (times as ISO 8601 text)."""
    origin = dict(request.origin or {})
    return {
        "request_id": request.id,
        "action": request.action,
        "state": request.state,
        "requester": request.requester,
        "api_client": origin.get("token_name") if origin.get("via") == "api" else None,
        "origin": {k: v for k, v in origin.items() if k not in _HIDDEN_ORIGIN},
        "payload": dict(request.payload),
        "rule": request.rule_name,
        "approvals_required": request.approvals_required,
        "approvals": approvals,
        "approver_hint": request.approver_hint,
        "created_at": _iso(request.created_at),
        "updated_at": _iso(request.updated_at),
        "expires_at": _iso(request.expires_at),
        "decided_by": request.decided_by,
        "decision_note": request.decision_note,
        "result": dict(request.result) if request.result else None,
        "failure_reason": request.failure_reason,
        "status_url": status_url(request.id),
    }


def callback_body(request: ActionRequest, approvals: list[dict[str, Any]]) -> dict[str, Any]:
    origin = request.origin or {}
    return {
        "request_id": request.id,
        "token_id": origin.get("token_id"),
        "callback_url": origin.get("callback_url"),
        "outcome": {"event": "action.outcome", **describe(request, approvals)},
    }


def wants_callback(origin: dict[str, Any] | None) -> bool:
    return bool(origin and origin.get("via") == "api" and origin.get("callback_url"))


def on_transition(session: Session, request: ActionRequest) -> None:
    """Queue the outcome callback when `request` (just changed) has reached an end state."""
    if request.state in ENDED and wants_callback(request.origin):
        body = callback_body(request, approvals_of(session, request))
        outbox.enqueue(session, outbox.CALLBACK, body)


def on_rejected_at_submit(connection: Connection, request: ActionRequest) -> None:
    """A request refused by the policy as it was submitted (never a transition)."""
    if wants_callback(request.origin):
        now = utcnow()
        connection.execute(
            insert(table_of(OutboxMessage)),
            {
                "kind": outbox.CALLBACK,
                "body": callback_body(request, []),
                "created_at": now,
                "next_attempt_at": now,
            },
        )
