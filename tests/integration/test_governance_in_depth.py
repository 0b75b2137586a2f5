"""Policy v2 in the core, on real databases: user groups, limits, time, edits, withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from governance.actions.invoice import invoice_payload
from governance.actions.refund import refund_payload
from governance.errors import (
    AlreadyDecided,
    InvalidEdit,
    NotAnApprover,
    NotEditable,
    NotTheRequester,
    OverApproverLimit,
    StaleCard,
)
from governance.executor import Executor
from governance.money import Money
from governance.policy import parse_policy
from governance.requests import State, approvers_so_far
from governance.service import Governance
from governance.timers import Timers
from storage import outbox
from storage.models import ActionRequest, AuditEntry, OutboxMessage
from tests.fakes.gateway import MemoryGateway

POLICY = """\
version: 1
groups:
  finance: [U0FIN1, U0FIN2, "@fin-team"]
  sales: [U0SALES1]
  owners: [U0OWN1]
defaults:
  approvers: [finance]
  approvals: 1
  expires_after: 24h
  remind_after: 2h
  escalate_after: 8h
  escalate_to: [owners]
  fresh_for: 1h
rules:
  - name: no-crypto
    action: payments.*
    client: "*@crypto.example"
    forbid: true
  - name: daily-refunds
    action: payments.refund
    daily_total_over: 2000 USD
    approvals: 2
  - name: sales-asks
    action: payments.invoice
    requester: [sales]
    approvals: 2
    editable: true
  - name: capped
    action: payments.invoice
    amount_over: 2500 USD
    approver_daily_limit: 5000 USD
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Groups:
    """A Slack directory whose user groups a test can change."""

    def __init__(self) -> None:
        self.groups = {"@fin-team": frozenset({"U0FIN9"})}

    def members(self, handle: str) -> frozenset[str] | None:
        return self.groups.get(handle)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def groups() -> Groups:
    return Groups()


@pytest.fixture
def governance(sessions: sessionmaker[Session], clock: Clock, groups: Groups) -> Governance:
    policy = parse_policy(POLICY)
    return Governance(sessions, lambda: policy, clock=clock, directory=groups)


def stored(sessions: sessionmaker[Session], request_id: int) -> ActionRequest:
    with sessions() as session:
        found = session.get(ActionRequest, request_id)
        assert found is not None
        session.expunge(found)
        return found


def invoice(
    governance: Governance, amount: int = 1000, *, by: str = "U0REQ", to: str = "a@b.com"
) -> int:
    payload = invoice_payload(to, Money(amount * 100, "usd"), "Work", 30)
    return governance.submit("payments.invoice", payload, by, {}).request_id


def audited(sessions: sessionmaker[Session], kind: str) -> int:
    with sessions() as session:
        return len(list(session.execute(select(AuditEntry.seq).where(AuditEntry.kind == kind))))


def direct_messages(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        bodies = session.execute(
            select(OutboxMessage.body).where(OutboxMessage.kind == outbox.DIRECT)
        ).scalars()
        return sorted((str(b["user"]), str(b["why"])) for b in bodies)


# -- rules --------------------------------------------------------------------------------


def test_a_forbidding_rule_refuses_before_any_card(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    submitted = governance.submit(
        "payments.invoice",
        invoice_payload("Boss@Crypto.Example", Money(100, "usd"), "Coins", 30),
        "U0REQ",
        {},
    )
    assert submitted.state is State.REJECTED
    assert "no-crypto" in (submitted.reason or "")
    assert stored(sessions, submitted.request_id).card_version == 0


def test_a_rule_for_one_requester_applies_to_them_only(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    theirs = stored(sessions, invoice(governance, by="U0SALES1"))
    ours = stored(sessions, invoice(governance, by="U0REQ"))
    assert (theirs.rule_name, theirs.approvals_required, theirs.editable) == ("sales-asks", 2, True)
    assert (ours.rule_name, ours.approvals_required, ours.editable) == ("defaults", 1, False)


def test_a_member_of_a_slack_user_group_may_approve_until_removed(
    governance: Governance, sessions: sessionmaker[Session], groups: Groups
) -> None:
    request_id = invoice(governance, by="U0SALES1")
    shown = stored(sessions, request_id)
    assert "U0FIN9" in shown.approvers
    governance.approve(request_id, "U0FIN9", shown.payload_hash)
    groups.groups["@fin-team"] = frozenset()  # removed from the group in Slack
    # Their approval no longer counts: one more is not enough.
    governance.approve(request_id, "U0FIN1", shown.payload_hash)
    assert stored(sessions, request_id).state == "pending"
    groups.groups["@fin-team"] = frozenset({"U0FIN9"})
    with pytest.raises(AlreadyDecided):  # back in the group: their approval counted again
        governance.approve(request_id, "U0FIN9", shown.payload_hash)


def test_someone_removed_from_a_group_cannot_approve(
    governance: Governance, sessions: sessionmaker[Session], groups: Groups
) -> None:
    request_id = invoice(governance)
    shown = stored(sessions, request_id)
    groups.groups["@fin-team"] = frozenset()
    with pytest.raises(NotAnApprover):
        governance.approve(request_id, "U0FIN9", shown.payload_hash)
    assert approvers_so_far_of(sessions, request_id) == []


def approvers_so_far_of(sessions: sessionmaker[Session], request_id: int) -> list[str]:
    with sessions() as session:
        found = session.get(ActionRequest, request_id)
        assert found is not None
        return approvers_so_far(session, found)


def test_refunds_split_into_small_ones_are_caught_by_the_days_total(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    gateway = MemoryGateway()
    gateway.paid_invoice("in_1", Money(1_000_000, "usd"))
    rules = []
    for _ in range(5):
        payload = refund_payload("in_1", Money(50_000, "usd"), "Split")
        request_id = governance.submit("payments.refund", payload, "U0REQ", {}).request_id
        governance.prepare(request_id, gateway)
        rules.append(stored(sessions, request_id).rule_name)
    # $500 four times is $2,000, not over; the fifth makes $2,500.
    assert rules == ["defaults"] * 4 + ["daily-refunds"]


def test_an_approver_cannot_pass_their_daily_limit(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    first, second = invoice(governance, 3000), invoice(governance, 3000)
    governance.approve(first, "U0FIN1", stored(sessions, first).payload_hash)
    with pytest.raises(OverApproverLimit):
        governance.approve(second, "U0FIN1", stored(sessions, second).payload_hash)
    governance.approve(second, "U0FIN2", stored(sessions, second).payload_hash)
    assert stored(sessions, second).state == "approved"


# -- edits and withdrawal -----------------------------------------------------------------


def test_an_edit_voids_the_approvals_so_far_and_shows_what_changed(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = invoice(governance, 1000, by="U0SALES1")
    before = stored(sessions, request_id)
    governance.approve(request_id, "U0FIN1", before.payload_hash)
    state = governance.edit(
        request_id,
        "U0SALES1",
        before.payload_hash,
        {"amount": "900", "description": "Work, less the discount", "due_days": "14"},
        "usd",
    )
    after = stored(sessions, request_id)
    assert state is State.PENDING
    assert after.payload_hash != before.payload_hash
    assert after.amount_minor == 90_000
    assert after.card_version > before.card_version
    assert approvers_so_far_of(sessions, request_id) == []
    [edit] = after.edits
    assert edit["by"] == "U0SALES1"
    assert {c["field"] for c in edit["changes"]} == {"Amount", "Description", "Due"}
    assert audited(sessions, "request.edited") == 1
    with pytest.raises(StaleCard):  # the old card's buttons
        governance.approve(request_id, "U0FIN2", before.payload_hash)
    governance.approve(request_id, "U0FIN1", after.payload_hash)
    governance.approve(request_id, "U0FIN2", after.payload_hash)
    assert stored(sessions, request_id).state == "approved"


def test_a_bad_edit_changes_nothing_and_a_forbidden_one_is_refused(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = invoice(governance, 1000, by="U0SALES1")
    shown = stored(sessions, request_id)
    values = {"amount": "-5", "description": "x", "due_days": "30"}
    with pytest.raises(InvalidEdit) as bad:
        governance.edit(request_id, "U0SALES1", shown.payload_hash, values, "usd")
    assert bad.value.field == "amount"
    with pytest.raises(NotAnApprover):
        governance.edit(request_id, "U0OUTSIDER", shown.payload_hash, values, "usd")
    assert stored(sessions, request_id).payload_hash == shown.payload_hash
    assert audited(sessions, "click.refused") == 1  # the outsider; a typo is not audited


def test_a_request_the_policy_does_not_let_be_edited(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = invoice(governance)
    with pytest.raises(NotEditable):
        governance.edit_form(request_id, "U0REQ", stored(sessions, request_id).payload_hash)


def test_the_requester_may_withdraw_a_pending_request_and_nobody_else(
    governance: Governance, sessions: sessionmaker[Session]
) -> None:
    request_id = invoice(governance)
    with pytest.raises(NotTheRequester):
        governance.withdraw(request_id, "U0FIN1")
    governance.withdraw(request_id, "U0REQ")
    assert stored(sessions, request_id).state == "cancelled"
    with pytest.raises(AlreadyDecided):
        governance.withdraw(request_id, "U0REQ")
    approved = invoice(governance)
    governance.approve(approved, "U0FIN1", stored(sessions, approved).payload_hash)
    with pytest.raises(AlreadyDecided):
        governance.withdraw(approved, "U0REQ")


# -- time ---------------------------------------------------------------------------------


def test_reminders_then_escalation_each_once(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    request_id = invoice(governance, by="U0SALES1")  # needs 2
    governance.approve(request_id, "U0FIN1", stored(sessions, request_id).payload_hash)
    clock.now += timedelta(hours=1)
    assert (Timers(sessions, clock).remind_due(), Timers(sessions, clock).escalate_due()) == (0, 0)
    clock.now += timedelta(hours=1, seconds=1)
    assert Timers(sessions, clock).remind_due() == 1
    assert Timers(sessions, clock).remind_due() == 0
    assert direct_messages(sessions) == [("U0FIN2", "reminder"), ("U0FIN9", "reminder")]
    clock.now += timedelta(hours=6)
    assert Timers(sessions, clock).escalate_due() == 1
    assert Timers(sessions, clock).escalate_due() == 0
    assert ("U0OWN1", "escalation") in direct_messages(sessions)
    escalated = stored(sessions, request_id)
    assert "U0OWN1" in escalated.approvers
    assert "owners" in escalated.approver_hint
    governance.approve(request_id, "U0OWN1", escalated.payload_hash)
    assert stored(sessions, request_id).state == "approved"
    assert (audited(sessions, "request.reminded"), audited(sessions, "request.escalated")) == (1, 1)


def test_an_approval_not_executed_in_time_must_be_confirmed_again(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    request_id = invoice(governance)
    governance.approve(request_id, "U0FIN1", stored(sessions, request_id).payload_hash)
    clock.now += timedelta(minutes=59)
    assert Timers(sessions, clock).lapse_stale_approvals() == []
    clock.now += timedelta(minutes=2)
    assert Timers(sessions, clock).lapse_stale_approvals() == [request_id]
    again = stored(sessions, request_id)
    assert again.state == "pending"
    assert approvers_so_far_of(sessions, request_id) == []
    assert audited(sessions, "request.reconfirm") == 1
    governance.approve(request_id, "U0FIN2", again.payload_hash)
    assert stored(sessions, request_id).state == "approved"


def test_a_retry_long_after_the_approval_asks_for_it_again(
    governance: Governance, sessions: sessionmaker[Session], clock: Clock
) -> None:
    from governance.ports import RejectedError

    request_id = invoice(governance)
    governance.approve(request_id, "U0FIN1", stored(sessions, request_id).payload_hash)
    gateway = MemoryGateway()
    gateway.fail("create_invoice", RejectedError("Your card was declined."))
    Executor(sessions, gateway, retry_delays=(), sleep=lambda _: None, clock=clock).run_ready()
    assert stored(sessions, request_id).state == "failed"
    clock.now += timedelta(hours=2)
    governance.retry(request_id, "U0FIN2")
    assert stored(sessions, request_id).state == "pending"


def test_several_processes_remind_once(
    sessions: sessionmaker[Session], clock: Clock, groups: Groups
) -> None:
    import threading

    policy = parse_policy(POLICY)
    governance = Governance(sessions, lambda: policy, clock=clock, directory=groups)
    processes = [Timers(sessions, clock) for _ in range(4)]
    request_ids = [invoice(governance) for _ in range(3)]
    clock.now += timedelta(hours=2, seconds=1)
    barrier = threading.Barrier(len(processes))
    done: list[int] = []

    def tick(process: Timers) -> None:
        barrier.wait()
        done.append(process.remind_due())

    threads = [threading.Thread(target=tick, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(done) == len(request_ids)
    # Three people eligible (U0FIN1, U0FIN2, U0FIN9), one DM each per request.
    assert len(direct_messages(sessions)) == 3 * len(request_ids)
