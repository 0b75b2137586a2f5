"""The approvals that count for a request now: for what it holds now, and not before a lapse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import ActionRequest, Approval


@dataclass(frozen=True)
class Given:
    user_id: str
    at: datetime


def counting(session: Session | Connection, request: ActionRequest) -> list[Given]:
    """In the order given. An edit changes the payload hash and a freshness lapse sets
    `approvals_since`: approvals from before either no longer count."""
    query = select(Approval.user_id, Approval.created_at).where(
        Approval.request_id == request.id, Approval.payload_hash == request.payload_hash
    )
    if request.approvals_since is not None:
        query = query.where(Approval.created_at >= request.approvals_since)
    return [
        Given(row.user_id, row.created_at) for row in session.execute(query.order_by(Approval.id))
    ]
