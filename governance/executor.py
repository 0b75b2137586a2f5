"""Runs approved requests off the request path, exactly once, surviving restarts.

A worker claims a request by a compare-and-set on its state and a lease; each step the
outside world confirms is journaled (`action_steps`) and never run again. A step whose
answer was lost is repeated with the same idempotency key, which the payment service
answers with the first result. A process that dies leaves its lease to expire (or, on the
same host, is seen to be dead at once), and the next claimant resumes after the last
journaled step.

Keys change only when the service has said no for certain (a decline, a refusal): then the
call moved nothing, and a Retry must be allowed to try afresh. After an outcome that is
not known (a timeout, an outage, a crash) the key stays, so whatever the first call did is
what every later call gets.
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

from governance import audit, signatures
from governance.actions import kind_of
from governance.actions.base import Outcome, Payload
from governance.errors import ActionRefused, AlreadyDecided
from governance.ports import CallScope, ExternalError, PaymentGateway, TransientError
from governance.requests import State, approvers_so_far, transition
from storage.db import read_only
from storage.models import ActionRequest, ActionStep
from storage.types import utcnow

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another worker took the request over; this one stops without touching it."""


INTERRUPTED_BACKOFF = timedelta(seconds=30)


def process_space() -> str:
    """Where a process id means this process's neighbours: host and PID namespace."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()}|{namespace}"


def process_owner() -> str:
    return f"{process_space()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _owner_is_dead(owner: str | None) -> bool:
    """True for an owner in this host's PID namespace whose process no longer exists."""
    if not owner:
        return True
    parts = owner.rsplit("/", 2)
    if len(parts) != 3:
        return False
    space, pid_text, _nonce = parts
    if space != process_space() or "?" in space or not pid_text.isdigit():
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
        lease: timedelta = timedelta(minutes=5),
        retry_delays: Sequence[float] = (0.5, 2.0, 5.0),
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        give_way: Callable[[], None] = lambda: None,
        signing_key: bytes | None = None,
    ) -> None:
        """`give_way` is called before each outside call: the host may hold it back a moment.

        With `signing_key`, each executed transaction is signed (governance.signatures).
        """
        self._give_way = give_way
        self._signing_key = signing_key
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
        """An execution nobody is running any more: its lease ran out or its process died.

        This worker runs one execution at a time, so a row it owns is never in its hands
        here; it is one it stepped away from after an unexpected error.
        """
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
            action, payload, uid, generation = (
                request.action,
                dict(request.payload),
                request.uid,
                request.key_generation,
            )

        def step(name: str, call: Callable[[CallScope], Payload]) -> Payload:
            return self._step(request_id, uid, generation, name, call)

        try:
            outcome = kind_of(action).execute(payload, self._gateway, step)
        except LeaseLost:
            log.warning("request #%s was taken over by another worker", request_id)
            return
        except TransientError as exc:
            self._finish_failed(request_id, exc.reason, outcome_known=False)
            return
        except (ExternalError, ActionRefused) as exc:
            reason = exc.reason if isinstance(exc, ExternalError) else str(exc)
            self._finish_failed(request_id, reason, outcome_known=True)
            return
        except Exception as exc:
            # The last call's outcome is unknown (the journal may have failed after it):
            # step away and let this or another worker resume later with the same keys.
            log.exception("request #%s was interrupted; resuming later", request_id)
            self._step_away(request_id, exc)
            return
        self._finish_succeeded(request_id, outcome)

    def _step(
        self,
        request_id: int,
        uid: str,
        generation: int,
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
        scope = CallScope(action_id=uid, idempotency_key=f"{uid}:{name}:{generation}")
        self._give_way()
        result = self._call_with_retries(request_id, lambda: call(scope))
        with self._sessions.begin() as session:
            self._renew_lease(session, request_id)
            session.add(
                ActionStep(
                    request_id=request_id,
                    step=name,
                    key_generation=generation,
                    result=result,
                    completed_at=self._now(),
                )
            )
            audit.append(
                session,
                "execution.step",
                "empire",
                {"step": name, "key_generation": generation, "result": result},
                request_id,
            )
        return result

    def _call_with_retries(self, request_id: int, call: Callable[[], Payload]) -> Payload:
        for delay in (*self._retry_delays, None):
            try:
                return call()  # the lease was renewed just before: it outlasts one call
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
            then=self._sign,
        )

    def _sign(self, session: Session, request: ActionRequest) -> None:
        if self._signing_key is None:
            return
        approved_by = approvers_so_far(session, request)
        now = self._now()
        signatures.add(
            session,
            self._signing_key,
            signatures.transaction_record(request, approved_by, now),
            now,
        )

    def _finish_failed(self, request_id: int, reason: str, *, outcome_known: bool) -> None:
        """Fail the request; after a certain refusal a Retry calls with fresh keys."""
        changes: dict[str, Any] = {"failure_reason": reason}
        if outcome_known:
            changes["key_generation"] = ActionRequest.key_generation + 1
        self._finish(
            request_id,
            State.FAILED,
            changes,
            audit.Record(
                "request.failed",
                "empire",
                {"reason": reason, "outcome_known": outcome_known},
                request_id,
            ),
        )

    def _step_away(self, request_id: int, error: Exception) -> None:
        with self._sessions.begin() as session:
            request = session.get(ActionRequest, request_id)
            if request is None or request.lease_owner != self.owner:
                return
            try:
                transition(
                    session,
                    request,
                    State.EXECUTING,
                    expect={"lease_owner": self.owner},
                    lease_until=self._now() + INTERRUPTED_BACKOFF,
                )
            except AlreadyDecided:
                return
            audit.append(
                session,
                "execution.interrupted",
                "empire",
                {"error": type(error).__name__},
                request_id,
            )

    def _finish(
        self,
        request_id: int,
        to: State,
        changes: dict[str, Any],
        record: audit.Record,
        then: Callable[[Session, ActionRequest], None] | None = None,
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
            if then is not None:
                then(session, request)
            audit.append_many(session, [record])
