"""Runs approved requests off the request path, exactly once, surviving restarts.

A worker claims a request by a compare-and-set on its state and a lease; each step the
outside world confirms is journaled (`action_steps`) and never run again. A step whose
answer was lost is repeated with the same idempotency key, which the payment service
answers with the first result. A process that dies leaves its lease to expire (or, on the
same host, is seen to be dead at once), and the next claimant resumes after the last
journaled step.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from governance.actions import kind_of
from governance.actions.base import Outcome, Payload
from governance.errors import ActionRefused, AlreadyDecided
from governance.ports import CallScope, ExternalError, PaymentGateway, TransientError
from governance.requests import State, transition
from storage.db import read_only
from storage.models import ActionRequest, ActionStep
from storage.types import utcnow

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the request over; this one stops without touching it."""


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str | None) -> bool:
    """True for an owner on this host whose process no longer exists."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Executor:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateway: PaymentGateway,
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        retry_delays: Sequence[float] = (0.5, 2.0, 5.0),
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        give_way: Callable[[], None] = lambda: None,
    ) -> None:
        """`give_way` is called before each outside call: the host may hold it back a moment."""
        self._give_way = give_way
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._gateway = gateway
        self.owner = owner or process_owner()
        self._lease = lease
        self._retry_delays = retry_delays
        self._now = clock
        self._sleep = sleep

    def run_ready(self) -> int:
        """Execute every request that is ready now; returns how many this worker ran."""
        ran = 0
        for request_id in self._candidates():
            if self._claim(request_id):
                self._execute(request_id)
                ran += 1
        return ran

    def _candidates(self) -> list[int]:
        """Approved requests, and executing ones whose worker's lease ran out or who died."""
        with self._reads.begin() as session:
            rows = session.execute(
                select(
                    ActionRequest.id,
                    ActionRequest.state,
                    ActionRequest.lease_owner,
                    ActionRequest.lease_until,
                )
                .where(ActionRequest.state.in_([State.APPROVED.value, State.EXECUTING.value]))
                .order_by(ActionRequest.id)
            ).all()
        return [
            request_id
            for request_id, state, owner, until in rows
            if state == State.APPROVED.value or self._abandoned(owner, until)
        ]

    def _abandoned(self, owner: str | None, until: datetime | None) -> bool:
        """An execution nobody is running any more: its lease ran out or its process died."""
        if owner == self.owner:
            return False
        return until is None or until < self._now() or _owner_is_dead(owner)

    def _claim(self, request_id: int) -> bool:
        with self._sessions.begin() as session:
            request = session.get(ActionRequest, request_id)
            if request is None:
                return False
            previous_owner, previous_until = request.lease_owner, request.lease_until
            resumed = request.state == State.EXECUTING.value
            if resumed and not self._abandoned(previous_owner, previous_until):
                return False
            try:
                transition(
                    session,
                    request,
                    State.EXECUTING,
                    expect={"lease_owner": previous_owner, "lease_until": previous_until},
                    lease_owner=self.owner,
                    lease_until=self._now() + self._lease,
                    card_version=ActionRequest.card_version + (0 if resumed else 1),
                )
            except AlreadyDecided:
                return False
            audit.append(
                session,
                "execution.resumed" if resumed else "execution.started",
                "empire",
                {"attempt": request.attempt, "worker": self.owner},
                request.id,
            )
            return True

    def _execute(self, request_id: int) -> None:
        with self._sessions.begin() as session:
            request = session.get(ActionRequest, request_id)
            assert request is not None
            action, payload, uid, attempt = (
                request.action,
                dict(request.payload),
                request.uid,
                request.attempt,
            )

        def step(name: str, call: Callable[[CallScope], Payload]) -> Payload:
            return self._step(request_id, uid, attempt, name, call)

        try:
            outcome = kind_of(action).execute(payload, self._gateway, step)
        except LeaseLost:
            log.warning("request #%s was taken over by another worker", request_id)
            return
        except (ExternalError, ActionRefused) as exc:
            reason = exc.reason if isinstance(exc, ExternalError) else str(exc)
            self._finish_failed(request_id, reason)
            return
        except Exception:
            log.exception("request #%s failed unexpectedly", request_id)
            self._finish_failed(request_id, "an internal error stopped the execution")
            return
        self._finish_succeeded(request_id, outcome)

    def _step(
        self,
        request_id: int,
        uid: str,
        attempt: int,
        name: str,
        call: Callable[[CallScope], Payload],
    ) -> Payload:
        with self._sessions.begin() as session:
            done = session.execute(
                select(ActionStep.result).where(
                    ActionStep.request_id == request_id, ActionStep.step == name
                )
            ).scalar_one_or_none()
            if done is not None:
                return dict(done)
            self._renew_lease(session, request_id)
        scope = CallScope(action_id=uid, idempotency_key=f"{uid}:{name}:{attempt}")
        self._give_way()
        result = self._call_with_retries(request_id, lambda: call(scope))
        with self._sessions.begin() as session:
            self._renew_lease(session, request_id)
            session.add(
                ActionStep(
                    request_id=request_id,
                    step=name,
                    attempt=attempt,
                    result=result,
                    completed_at=self._now(),
                )
            )
            audit.append(
                session,
                "execution.step",
                "empire",
                {"step": name, "attempt": attempt, "result": result},
                request_id,
            )
        return result

    def _call_with_retries(self, request_id: int, call: Callable[[], Payload]) -> Payload:
        for delay in (*self._retry_delays, None):
            try:
                return call()
            except TransientError as exc:
                if delay is None:
                    raise
                log.info("request #%s: %s; retrying in %ss", request_id, exc.reason, delay)
                self._sleep(delay)
                with self._sessions.begin() as session:
                    self._renew_lease(session, request_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _renew_lease(self, session: Session, request_id: int) -> None:
        request = session.get(ActionRequest, request_id)
        if request is None or request.lease_owner != self.owner:
            raise LeaseLost(request_id)
        try:
            transition(
                session,
                request,
                State.EXECUTING,
                expect={"lease_owner": self.owner},
                lease_until=self._now() + self._lease,
            )
        except AlreadyDecided as exc:
            raise LeaseLost(request_id) from exc

    def _finish_succeeded(self, request_id: int, outcome: Outcome) -> None:
        result = {"summary": outcome.summary, "object_id": outcome.object_id, **outcome.details}
        self._finish(
            request_id,
            State.SUCCEEDED,
            {"result": result},
            audit.Record(
                "request.executed",
                "empire",
                {"object_id": outcome.object_id, "details": outcome.details},
                request_id,
            ),
        )

    def _finish_failed(self, request_id: int, reason: str) -> None:
        self._finish(
            request_id,
            State.FAILED,
            {"failure_reason": reason},
            audit.Record("request.failed", "empire", {"reason": reason}, request_id),
        )

    def _finish(
        self, request_id: int, to: State, changes: dict[str, Any], record: audit.Record
    ) -> None:
        """End this worker's execution, unless another worker has taken it over."""
        with self._sessions.begin() as session:
            request = session.get(ActionRequest, request_id)
            assert request is not None
            try:
                transition(
                    session,
                    request,
                    to,
                    expect={"lease_owner": self.owner},
                    lease_until=None,
                    card_version=ActionRequest.card_version + 1,
                    **changes,
                )
            except AlreadyDecided:
                return
            audit.append_many(session, [record])
