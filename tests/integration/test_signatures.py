"""Executed transactions are signed; a changed transaction or a wrong key is named."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from governance import signatures
from governance.actions.invoice import invoice_payload
from governance.executor import Executor
from governance.money import Money
from governance.service import Governance
from storage.models import ActionRequest, TransactionSignature
from tests.fakes.gateway import MemoryGateway
from tests.policies import standard_policy

KEY = b"k" * 64


def executed(sessions: sessionmaker[Session]) -> int:
    policy = standard_policy()
    governance = Governance(sessions, lambda: policy)
    payload = invoice_payload("a@example.com", Money(5000, "usd"), "Signed work", 30)
    request_id = governance.submit("payments.invoice", payload, "U0REQ", {}).request_id
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        shown = stored.payload_hash
    governance.approve(request_id, "U0FIN1", shown)
    Executor(sessions, MemoryGateway(), signing_key=KEY).run_ready()
    return request_id


def verdict(sessions: sessionmaker[Session], key: bytes = KEY) -> signatures.SignatureVerdict:
    with sessions() as session:
        return signatures.verify(session, key)


def test_an_executed_transaction_is_signed_and_verifies(sessions: sessionmaker[Session]) -> None:
    request_id = executed(sessions)
    assert verdict(sessions) == signatures.SignatureVerdict(True, 1)
    with sessions() as session:
        signed = session.query(TransactionSignature).one()
    assert signed.request_id == request_id
    assert '"approved_by":["U0FIN1"]' in signed.record
    assert '"object_id":"in_1"' in signed.record


def test_a_changed_amount_or_object_is_named(sessions: sessionmaker[Session]) -> None:
    request_id = executed(sessions)
    with sessions.begin() as session:
        session.execute(update(ActionRequest).values(result={"object_id": "in_other"}))
    result = verdict(sessions)
    assert (result.ok, result.bad_request) == (False, request_id)
    assert "object_id" in (result.reason or "")


def test_a_rewritten_record_without_the_key_is_named(sessions: sessionmaker[Session]) -> None:
    request_id = executed(sessions)
    with sessions.begin() as session:
        session.execute(
            update(TransactionSignature).values(
                record=TransactionSignature.record + " "  # any change to the signed text
            )
        )
    result = verdict(sessions)
    assert (result.ok, result.bad_request) == (False, request_id)
    assert "does not match" in (result.reason or "")


def test_a_removed_signature_is_named(sessions: sessionmaker[Session]) -> None:
    request_id = executed(sessions)
    with sessions.begin() as session:
        session.execute(delete(TransactionSignature))
    result = verdict(sessions)
    assert (result.ok, result.bad_request, result.reason) == (
        False,
        request_id,
        "executed but not signed",
    )


def test_another_key_does_not_verify(sessions: sessionmaker[Session]) -> None:
    executed(sessions)
    assert not verdict(sessions, b"x" * 64).ok
