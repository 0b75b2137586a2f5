"""Today's money from the requests table, for the policy's rolling limits (`Totals`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from sqlalchemy import select
from sqlalchemy.orm import Session

from governance.requests import State
from storage.models import ActionRequest, Approval

# Requests whose money counts toward a day's total: approved (run or not) or still waiting.
COUNTED = tuple(
    s.value for s in (State.PENDING, State.APPROVED, State.EXECUTING, State.SUCCEEDED, State.FAILED)
)


class RequestTotals:
    def __init__(self, session: Session, now: datetime, *, excluding: int | None = None) -> None:
        self._session = session
        self._since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        self._until = self._since + timedelta(days=1)
        self._excluding = excluding  # the request being decided, when it is stored already

    def today(
        self, action_glob: str, currency: str, client_glob: str | None, client: str | None
    ) -> int:
        rows = self._session.execute(
            select(
                ActionRequest.id,
                ActionRequest.action,
                ActionRequest.amount_minor,
                ActionRequest.payload,
            ).where(
                ActionRequest.state.in_(COUNTED),
                ActionRequest.currency == currency,
                ActionRequest.created_at >= self._since,
                ActionRequest.created_at < self._until,
            )
        ).all()
        total = 0
        for row in rows:
            if row.id == self._excluding or not fnmatchcase(row.action, action_glob):
                continue
            email = str(row.payload.get("client_email") or "").lower()
            if client_glob is not None and not (email and fnmatchcase(email, client_glob.lower())):
                continue
            if client is not None and email != client.lower():
                continue
            total += row.amount_minor or 0
        return total

    def approved_today(self, user_id: str, currency: str) -> int:
        amounts = self._session.execute(
            select(ActionRequest.amount_minor)
            .join(Approval, Approval.request_id == ActionRequest.id)
            .where(
                Approval.user_id == user_id,
                Approval.payload_hash == ActionRequest.payload_hash,
                Approval.created_at >= self._since,
                Approval.created_at < self._until,
                ActionRequest.currency == currency,
            )
        ).scalars()
        return sum(amount or 0 for amount in amounts)
