"""What waiting requests need as time passes: expiry, reminders, escalation, freshness.

Each is done once, however many processes tick: a process lists what looks due, then
takes each request's row lock and checks again before acting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from governance.requests import State, approvers_so_far, lock_request, transition
from storage import outbox
from storage.db import read_only
from storage.models import ActionRequest


def expire(session: Session, request: ActionRequest) -> None:
    transition(session, request, State.EXPIRED, card_version=ActionRequest.card_version + 1)
    audit.append(session, "request.expired", "empire", {}, request.id)
    outbox.reply(session, request.origin, f"Request #{request.id} expired without a decision.")


def lapsed(request: ActionRequest, now: datetime) -> bool:
    """Approved longer ago than the policy lets an approval stand unexecuted."""
    if request.fresh_for_seconds is None or request.approved_at is None:
        return False
    return now - request.approved_at > timedelta(seconds=request.fresh_for_seconds)


def ask_again(session: Session, request: ActionRequest, now: datetime, **changes: Any) -> None:
    """Approvals too old to act on: the same card asks the approvers to confirm again."""
    window = request.expires_at - request.created_at if request.expires_at else None
    transition(
        session,
        request,
        State.PENDING,
        approvals_since=now,
        approved_at=None,
        failure_reason=None,
        expires_at=now + window if window else None,
        card_version=ActionRequest.card_version + 1,
        **changes,
    )
    audit.append(
        session,
        "request.reconfirm",
        "empire",
        {"fresh_for_seconds": request.fresh_for_seconds},
        request.id,
    )
    outbox.reply(
        session,
        request.origin,
        f"Request #{request.id} was approved too long ago to run now; it waits for approval again.",
    )


class Timers:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._now = clock

    def run(self) -> int:
        """One pass of everything; how many requests changed."""
        return (
            len(self.expire_due())
            + self.remind_due()
            + self.escalate_due()
            + len(self.lapse_stale_approvals())
        )

    def expire_due(self) -> list[int]:
        expired = []
        for request_id in self._due(ActionRequest.expires_at):
            with self._sessions.begin() as session:
                request = lock_request(session, request_id)
                if self._still_due(request, request.expires_at):
                    expire(session, request)
                    expired.append(request_id)
        return expired

    def remind_due(self) -> int:
        """DM the eligible approvers who have not decided, once, when the wait is long."""
        reminded = 0
        for request_id in self._due(ActionRequest.remind_at):
            with self._sessions.begin() as session:
                request = lock_request(session, request_id)
                if not self._still_due(request, request.remind_at):
                    continue
                request.remind_at = None
                waiting = _undecided(session, request, request.approvers)
                _ask_by_dm(session, request, waiting, "reminder")
                audit.append(session, "request.reminded", "empire", {"users": waiting}, request.id)
                reminded += 1
        return reminded

    def escalate_due(self) -> int:
        """After the longer wait, the escalation group may approve too, and is asked to."""
        escalated = 0
        for request_id in self._due(ActionRequest.escalate_at):
            with self._sessions.begin() as session:
                request = lock_request(session, request_id)
                if not self._still_due(request, request.escalate_at):
                    continue
                added = [
                    u
                    for u in request.escalate_to
                    if u not in request.approvers and u != request.requester
                ]
                request.escalate_at = None
                request.approvers = [*request.approvers, *added]
                if request.escalation_hint:
                    request.approver_hint = f"{request.approver_hint} or {request.escalation_hint}"
                request.card_version = request.card_version + 1
                _ask_by_dm(session, request, added, "escalation")
                audit.append(session, "request.escalated", "empire", {"users": added}, request.id)
                escalated += 1
        return escalated

    def lapse_stale_approvals(self) -> list[int]:
        """Approved requests not executed within their freshness window go back for approval."""
        with self._reads.begin() as session:
            candidates = list(
                session.execute(
                    select(ActionRequest.id).where(
                        ActionRequest.state == State.APPROVED.value,
                        ActionRequest.fresh_for_seconds.is_not(None),
                    )
                ).scalars()
            )
        done = []
        for request_id in candidates:
            with self._sessions.begin() as session:
                request = lock_request(session, request_id)
                now = self._now()
                if request.state == State.APPROVED.value and lapsed(request, now):
                    ask_again(session, request, now)
                    done.append(request_id)
        return done

    def _due(self, column: Any) -> list[int]:
        with self._reads.begin() as session:
            return list(
                session.execute(
                    select(ActionRequest.id).where(
                        ActionRequest.state == State.PENDING.value, column <= self._now()
                    )
                ).scalars()
            )

    def _still_due(self, request: ActionRequest, when: datetime | None) -> bool:
        # Another process may have acted since the list was read: the row lock settles it.
        return request.state == State.PENDING.value and when is not None and when <= self._now()


def _undecided(session: Session, request: ActionRequest, users: list[str]) -> list[str]:
    given = set(approvers_so_far(session, request))
    return [u for u in users if u not in given and u != request.requester]


def _ask_by_dm(session: Session, request: ActionRequest, users: list[str], why: str) -> None:
    for user in users:
        outbox.enqueue(
            session,
            outbox.DIRECT,
            {"user": user, "request_id": request.id, "why": why, "channel": request.card_channel},
        )
