"""The core on real databases: submit, prepare, decide, expire, execute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance import audit
from governance.actions.invoice import invoice_payload
from governance.actions.refund import refund_payload
from governance.errors import (
    AlreadyDecided,
    NotAnApprover,
    RequestExpired,
    SelfApproval,
    StaleCard,
)
from governance.executor import Executor
from governance.money import Money
from governance.requests import State
from governance.service import Governance
from governance.timers import Timers
from storage.models import ActionRequest, AuditEntry, OutboxMessage
from storage.types import utcnow
from tests.fakes.gateway import MemoryGateway, transient
from tests.policies import standard_policy

USD = "usd"


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def governance(sessions: sessionmaker[Session], clock: Clock) -> Governance:
    policy = standard_policy()
    return Governance(sessions, lambda: policy, clock=clock)


@pytest.fixture
def gateway() -> MemoryGateway:
    return MemoryGateway()


def executor(sessions: sessionmaker[Session], gateway: MemoryGateway) -> Executor:
    return Executor(sessions, gateway, retry_delays=(0, 0), sleep=lambda _: None)


def request(sessions: sessionmaker[Session], request_id: int) -> ActionRequest:
    with sessions() as session:
        found = session.get(ActionRequest, request_id)
        assert found is not None
        return found


def kinds(sessions: sessionmaker[Session], request_id: int) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(
                select(AuditEntry.kind)
                .where(AuditEntry.request_id == request_id)
                .order_by(AuditEntry.seq)
            ).scalars()
        )


def submit_invoice(governance: Governance, requester: str = "U0REQ") -> int:
    payload = invoice_payload("acme@example.com", Money(150000, USD), "Website development", 30)
    origin = {"via": "slack", "response_url": "http://127.0.0.1:9/r/1"}
    return governance.submit("payments.invoice", payload, requester, origin).request_id


def test_invoice_goes_pending_with_the_rule_of_the_policy(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    request_id = submit_invoice(governance)
    stored = request(sessions, request_id)
    assert stored.state == "pending"
    assert stored.rule_name == "invoices"
    assert stored.approvals_required == 1
    assert stored.approvers == ["U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1"]
    assert stored.expires_at == clock.now + timedelta(hours=24)
    assert stored.amount_minor == 150000
    assert kinds(sessions, request_id) == ["request.submitted", "request.pending"]


def test_one_approval_executes_the_invoice_exactly_once(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    request_id = submit_invoice(governance)
    shown = request(sessions, request_id).payload_hash
    outcome = governance.approve(request_id, "U0FIN1", shown)
    assert outcome.approved
    assert executor(sessions, gateway).run_ready() == 1
    assert executor(sessions, gateway).run_ready() == 0
    done = request(sessions, request_id)
    assert done.state == "succeeded"
    assert done.result["object_id"] == "in_1"
    assert done.result["hosted_invoice_url"] == "https://invoice.example/in_1"
    assert gateway.calls.count("create_invoice") == 1
    assert gateway.calls.count("send_invoice") == 1
    assert kinds(sessions, request_id)[-1] == "request.executed"


@pytest.mark.parametrize(
    ("user", "error"),
    [("U0REQ", SelfApproval), ("U0OUTSIDER", NotAnApprover)],
)
def test_refused_clicks_change_nothing_but_the_log(
    governance: Governance, sessions: sessionmaker[Session], user: str, error: type[Exception]
) -> None:
    request_id = submit_invoice(governance, requester="U0REQ")
    shown = request(sessions, request_id).payload_hash
    before = request(sessions, request_id)
    with pytest.raises(error):
        governance.approve(request_id, user, shown)
    after = request(sessions, request_id)
    assert (after.state, after.card_version) == (before.state, before.card_version)
    assert kinds(sessions, request_id)[-1] == "click.refused"


def test_a_finance_member_who_asks_cannot_approve_their_own_request(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = submit_invoice(governance, requester="U0FIN1")
    stored = request(sessions, request_id)
    assert "U0FIN1" not in stored.approvers
    with pytest.raises(SelfApproval):
        governance.approve(request_id, "U0FIN1", stored.payload_hash)


def test_a_click_on_an_outdated_card_is_refused(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = submit_invoice(governance)
    with pytest.raises(StaleCard):
        governance.approve(request_id, "U0FIN1", "0" * 64)
    assert request(sessions, request_id).state == "pending"


def test_refund_over_the_threshold_needs_two_distinct_approvers(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    gateway.paid_invoice("in_big", Money(2_000_000, USD))
    payload = refund_payload("in_big", Money(1_500_000, USD), "Project cancelled")
    request_id = governance.submit("payments.refund", payload, "U0REQ", {}).request_id
    assert request(sessions, request_id).state == "received"
    governance.prepare(request_id, gateway)
    stored = request(sessions, request_id)
    assert (stored.state, stored.rule_name, stored.approvals_required) == (
        "pending",
        "parliament",
        2,
    )
    first = governance.approve(request_id, "U0FIN1", stored.payload_hash)
    assert (first.approved, first.approvals) == (False, 1)
    with pytest.raises(AlreadyDecided):
        governance.approve(request_id, "U0FIN1", stored.payload_hash)
    second = governance.approve(request_id, "U0FIN2", stored.payload_hash)
    assert second.approved
    executor(sessions, gateway).run_ready()
    assert request(sessions, request_id).state == "succeeded"
    assert gateway.payments["in_big"].refunded == Money(1_500_000, USD)


def test_refund_of_the_whole_rest_reads_the_amount_before_the_card(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    gateway.paid_invoice("in_part", Money(50_000, USD), refunded=20_000)
    request_id = governance.submit(
        "payments.refund", refund_payload("in_part", None, "Goodwill"), "U0REQ", {}
    ).request_id
    governance.prepare(request_id, gateway)
    stored = request(sessions, request_id)
    assert stored.state == "pending"
    assert stored.amount_minor == 30_000
    assert stored.rule_name == "invoices"


@pytest.mark.parametrize(
    ("refunded", "asked", "reason"),
    [(50_000, None, "Nothing is left"), (40_000, 20_000, "Only $100.00")],
)
def test_refund_beyond_the_rest_is_rejected_before_any_card(
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: MemoryGateway,
    refunded: int,
    asked: int | None,
    reason: str,
) -> None:
    gateway.paid_invoice("in_x", Money(50_000, USD), refunded=refunded)
    amount = Money(asked, USD) if asked else None
    origin = {"response_url": "http://127.0.0.1:9/r"}
    request_id = governance.submit(
        "payments.refund", refund_payload("in_x", amount, "Again"), "U0REQ", origin
    ).request_id
    governance.prepare(request_id, gateway)
    stored = request(sessions, request_id)
    assert stored.state == "rejected"
    assert reason in (stored.failure_reason or "")
    with sessions() as session:
        texts = [m.body["text"] for m in session.execute(select(OutboxMessage)).scalars()]
    assert any(reason in text for text in texts)


def test_unknown_invoice_is_rejected(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    request_id = governance.submit(
        "payments.refund", refund_payload("in_nope", None, "x"), "U0REQ", {}
    ).request_id
    governance.prepare(request_id, gateway)
    assert request(sessions, request_id).state == "rejected"


def test_pending_requests_expire_and_late_clicks_are_refused(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    early = submit_invoice(governance)
    late = submit_invoice(governance)
    clock.now += timedelta(hours=25)
    shown = request(sessions, late).payload_hash
    with pytest.raises(RequestExpired):
        governance.approve(late, "U0FIN1", shown)
    assert request(sessions, late).state == "expired"
    assert Timers(sessions, clock).expire_due() == [early]
    assert request(sessions, early).state == "expired"
    assert "request.expired" in kinds(sessions, early)


def test_deny_records_who_and_why(governance: Governance, sessions: sessionmaker[Session]) -> None:
    request_id = submit_invoice(governance)
    shown = request(sessions, request_id).payload_hash
    governance.deny(request_id, "U0FIN2", shown, "Wrong client")
    stored = request(sessions, request_id)
    assert (stored.state, stored.decided_by, stored.decision_note) == (
        "denied",
        "U0FIN2",
        "Wrong client",
    )
    with pytest.raises(AlreadyDecided):
        governance.approve(request_id, "U0FIN1", shown)


def test_transient_errors_are_retried_then_fail_with_retry_that_resumes(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    request_id = submit_invoice(governance)
    governance.approve(request_id, "U0FIN1", request(sessions, request_id).payload_hash)
    gateway.fail("finalize_invoice", transient(), transient(), transient())
    executor(sessions, gateway).run_ready()
    failed = request(sessions, request_id)
    assert failed.state == "failed"
    assert "unavailable" in (failed.failure_reason or "")
    with pytest.raises(NotAnApprover):
        governance.retry(request_id, "U0OUTSIDER")
    governance.retry(request_id, "U0FIN1")
    executor(sessions, gateway).run_ready()
    done = request(sessions, request_id)
    assert (done.state, done.attempt) == ("succeeded", 2)
    assert gateway.calls.count("create_invoice") == 1
    assert gateway.calls.count("add_invoice_line") == 1
    assert len(gateway.invoices) == 1


def test_every_step_is_in_a_chain_that_verifies(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    request_id = submit_invoice(governance)
    governance.approve(request_id, "U0FIN1", request(sessions, request_id).payload_hash)
    executor(sessions, gateway).run_ready()
    steps = [k for k in kinds(sessions, request_id) if k == "execution.step"]
    assert len(steps) == 5
    with sessions() as session:
        verdict = audit.verify(session)
    assert verdict.ok
    assert verdict.entries == len(kinds(sessions, request_id))


def test_state_is_final_once_succeeded(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway
) -> None:
    request_id = submit_invoice(governance)
    governance.approve(request_id, "U0FIN1", request(sessions, request_id).payload_hash)
    executor(sessions, gateway).run_ready()
    with pytest.raises(AlreadyDecided):
        governance.retry(request_id, "U0FIN1")
    assert State(request(sessions, request_id).state) is State.SUCCEEDED


def test_an_undeliverable_message_is_given_up_after_its_attempts(
    sessions: sessionmaker[Session],
) -> None:
    from storage import outbox

    with sessions.begin() as session:
        outbox.reply(session, {"response_url": "http://127.0.0.1:9/gone"}, "hello")
    for attempt in range(outbox.MAX_ATTEMPTS):
        with sessions.begin() as session:
            assert outbox.has_due(session)
            claimed = outbox.claim_due(session, timedelta(seconds=30))
            assert len(claimed) == 1
            claimed[0].attempts = attempt + 1
            claimed[0].lease_until = None
    with sessions.begin() as session:
        assert not outbox.has_due(session)


def test_preparation_waits_out_a_stripe_outage_then_gives_up(
    governance: Governance, sessions: sessionmaker[Session], gateway: MemoryGateway, clock: Clock
) -> None:
    gateway.paid_invoice("in_wait", Money(50_000, USD))
    request_id = governance.submit(
        "payments.refund", refund_payload("in_wait", None, "x"), "U0REQ", {}
    ).request_id
    gateway.fail("get_invoice", transient())
    governance.prepare(request_id, gateway)
    assert request(sessions, request_id).state == "received"
    governance.prepare(request_id, gateway)
    assert request(sessions, request_id).state == "pending"

    late = governance.submit(
        "payments.refund", refund_payload("in_wait", None, "y"), "U0REQ", {}
    ).request_id
    clock.now += timedelta(minutes=11)
    gateway.fail("get_invoice", transient())
    governance.prepare(late, gateway)
    refused = request(sessions, late)
    assert refused.state == "rejected"
    assert "did not answer" in (refused.failure_reason or "")


def test_an_outsiders_click_on_an_expired_card_changes_nothing(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    request_id = submit_invoice(governance)
    clock.now += timedelta(hours=25)
    with pytest.raises(NotAnApprover):
        governance.approve(request_id, "U0OUTSIDER", request(sessions, request_id).payload_hash)
    assert request(sessions, request_id).state == "pending"
    assert Timers(sessions, clock).expire_due() == [request_id]
