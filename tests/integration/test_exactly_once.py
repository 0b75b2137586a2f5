"""Races: many clicks at once, several workers at once; one decision, one execution."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from governance.actions.invoice import invoice_payload
from governance.errors import ClickRefused
from governance.executor import Executor, process_space
from governance.money import Money
from governance.policy import parse_policy
from governance.service import Governance
from storage.models import ActionRequest, ActionStep, Approval, AuditEntry
from storage.types import utcnow
from tests.fakes.gateway import MemoryGateway

CROWD = [f"U0FIN{i:02d}" for i in range(20)]
POLICY = f"""\
version: 1
groups:
  finance: [{", ".join(CROWD)}]
defaults:
  approvers: [finance]
  approvals: 2
  expires_after: 1h
"""


def setup(sessions: sessionmaker[Session]) -> tuple[Governance, int, str]:
    policy = parse_policy(POLICY)
    governance = Governance(sessions, lambda: policy)
    payload = invoice_payload("acme@example.com", Money(900_00, "usd"), "Audit", 14)
    request_id = governance.submit("payments.invoice", payload, "U0REQ", {}).request_id
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        return governance, request_id, stored.payload_hash


def count(sessions: sessionmaker[Session], model: type, **where: object) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(session.execute(query).scalar_one())


def test_twenty_concurrent_clicks_give_one_approval_decision(
    sessions: sessionmaker[Session],
) -> None:
    governance, request_id, shown = setup(sessions)
    clickers = [*CROWD[:10], *CROWD[:10]]  # everyone double-clicks
    barrier = threading.Barrier(len(clickers))

    def click(user: str) -> str:
        barrier.wait()
        try:
            return "approved" if governance.approve(request_id, user, shown).approved else "counted"
        except ClickRefused:
            return "refused"

    with ThreadPoolExecutor(len(clickers)) as pool:
        results = list(pool.map(click, clickers))
    assert results.count("approved") == 1
    assert results.count("counted") == 1
    assert results.count("refused") == 18
    assert count(sessions, Approval, request_id=request_id) == 2
    assert count(sessions, AuditEntry, kind="request.approved") == 1


def test_competing_workers_execute_once(sessions: sessionmaker[Session]) -> None:
    governance, request_id, shown = setup(sessions)
    governance.approve(request_id, CROWD[0], shown)
    governance.approve(request_id, CROWD[1], shown)
    gateway = MemoryGateway()
    workers = [Executor(sessions, gateway, owner=f"host:1:{n}") for n in range(4)]
    barrier = threading.Barrier(len(workers))

    def run(worker: Executor) -> int:
        barrier.wait()
        return worker.run_ready()

    with ThreadPoolExecutor(len(workers)) as pool:
        ran = list(pool.map(run, workers))
    assert sum(ran) == 1
    assert gateway.calls.count("create_invoice") == 1
    assert gateway.calls.count("send_invoice") == 1
    assert count(sessions, ActionStep, request_id=request_id) == 5
    assert count(sessions, AuditEntry, kind="execution.started") == 1


def test_a_worker_that_died_mid_way_is_resumed_without_repeating_steps(
    sessions: sessionmaker[Session],
) -> None:
    governance, request_id, shown = setup(sessions)
    governance.approve(request_id, CROWD[0], shown)
    governance.approve(request_id, CROWD[1], shown)
    gateway = MemoryGateway()

    class Crash(BaseException):
        """Stands for the process being killed: nothing after it runs."""

    original = gateway.finalize_invoice

    def finalize_then_die(*args: object, **kwargs: object) -> object:
        original(*args, **kwargs)  # type: ignore[arg-type]
        raise Crash

    gateway.finalize_invoice = finalize_then_die  # type: ignore[method-assign]
    dying = Executor(sessions, gateway, owner="otherhost:1:a", lease=timedelta(minutes=2))
    with contextlib.suppress(Crash):
        dying.run_ready()
    gateway.finalize_invoice = original  # type: ignore[method-assign]
    successor = Executor(sessions, gateway, owner="otherhost:2:b")
    assert successor.run_ready() == 0  # the lease still holds
    with sessions.begin() as session:
        session.execute(
            update(ActionRequest)
            .where(ActionRequest.id == request_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert successor.run_ready() == 1
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert stored.state == "succeeded"
    # the successor found the invoice finalized already and did not finalize it again
    assert gateway.calls.count("finalize_invoice") == 1
    assert gateway.calls.count("create_invoice") == 1
    assert next(iter(gateway.invoices.values())).status == "open"
    assert count(sessions, AuditEntry, kind="execution.resumed") == 1


def test_a_dead_process_on_this_host_is_taken_over_at_once(
    sessions: sessionmaker[Session],
) -> None:
    governance, request_id, shown = setup(sessions)
    governance.approve(request_id, CROWD[0], shown)
    governance.approve(request_id, CROWD[1], shown)
    with sessions.begin() as session:
        session.execute(
            update(ActionRequest)
            .where(ActionRequest.id == request_id)
            .values(
                state="executing",
                lease_owner=f"{process_space()}/999999/dead",
                lease_until=utcnow() + timedelta(hours=1),
            )
        )
    gateway = MemoryGateway()
    assert Executor(sessions, gateway).run_ready() == 1
    assert len(gateway.invoices) == 1


def _approved(sessions: sessionmaker[Session]) -> int:
    governance, request_id, shown = setup(sessions)
    governance.approve(request_id, CROWD[0], shown)
    governance.approve(request_id, CROWD[1], shown)
    return request_id


def test_after_an_unknown_outcome_a_retry_repeats_the_same_key(
    sessions: sessionmaker[Session],
) -> None:
    from tests.fakes.gateway import transient

    request_id = _approved(sessions)
    gateway = MemoryGateway()
    gateway.fail("finalize_invoice", *(transient() for _ in range(3)))
    executor = Executor(sessions, gateway, retry_delays=(0, 0), sleep=lambda _: None)
    executor.run_ready()
    Governance(sessions, lambda: parse_policy(POLICY)).retry(request_id, CROWD[0])
    executor.run_ready()
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert (stored.state, stored.key_generation) == ("succeeded", 1)
    assert any(key.endswith(":finalize:1") for key in gateway.keys)
    assert not any(key.endswith(":2") for key in gateway.keys)


def test_after_a_certain_refusal_a_retry_uses_fresh_keys(sessions: sessionmaker[Session]) -> None:
    from governance.ports import RejectedError

    request_id = _approved(sessions)
    gateway = MemoryGateway()
    gateway.fail("send_invoice", RejectedError("This invoice cannot be sent right now."))
    executor = Executor(sessions, gateway, sleep=lambda _: None)
    executor.run_ready()
    Governance(sessions, lambda: parse_policy(POLICY)).retry(request_id, CROWD[0])
    executor.run_ready()
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert (stored.state, stored.key_generation) == ("succeeded", 2)
    assert any(key.endswith(":send:2") for key in gateway.keys)
    assert gateway.calls.count("create_invoice") == 1


def test_an_unexpected_error_steps_away_and_the_execution_resumes_later(
    sessions: sessionmaker[Session],
) -> None:
    request_id = _approved(sessions)
    gateway = MemoryGateway()
    gateway.fail("finalize_invoice", RuntimeError("database went away"))
    clock = [utcnow()]
    executor = Executor(sessions, gateway, clock=lambda: clock[0], sleep=lambda _: None)
    assert executor.run_ready() == 1
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert stored.state == "executing"
    assert executor.run_ready() == 0  # it waits before trying again
    clock[0] += timedelta(minutes=1)
    assert executor.run_ready() == 1
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert stored.state == "succeeded"
    assert count(sessions, AuditEntry, kind="execution.interrupted") == 1
