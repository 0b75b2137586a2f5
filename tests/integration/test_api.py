"""The REST API on real databases: what each route asks of the core, and every refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.api.callbacks import CallbackSender, verify
from bot.workers import PREPARE, SLACK
from governance import clients
from governance.executor import Executor
from governance.policy import parse_policy
from governance.ports import Customer
from integrations.local.stripe.webhook_sender import signature_header
from storage import outbox
from storage.models import ActionRequest, ApiToken, AuditEntry, LedgerInvoice, OutboxMessage
from storage.types import utcnow
from tests.api_support import PEPPER, WEBHOOK_SECRET, Api, TestClient, build_test_api
from tests.fakes.gateway import MemoryGateway

INVOICE = {"client": "acme@example.com", "amount": "1,500.00", "description": "Website build"}


@pytest.fixture
def api(sessions: sessionmaker[Session]) -> Api:
    return build_test_api(sessions)


@pytest.fixture
def http(api: Api) -> Iterator[TestClient]:
    with TestClient(api.app) as client:
        yield client


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """(requests, audit entries)."""
    with sessions.begin() as session:
        requests = session.scalar(select(func.count()).select_from(ActionRequest)) or 0
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        return requests, entries


def refusals(sessions: sessionmaker[Session]) -> list[tuple[str, dict[str, Any]]]:
    with sessions.begin() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.payload)
            .where(AuditEntry.kind == "api.refused")
            .order_by(AuditEntry.seq)
        ).all()
        return [(actor, json.loads(payload)) for actor, payload in rows]


def request_row(sessions: sessionmaker[Session], request_id: int) -> ActionRequest:
    with sessions.begin() as session:
        found = session.get(ActionRequest, request_id)
        assert found is not None
        session.expunge(found)
        return found


# -- asking ---------------------------------------------------------------------------


def test_an_invoice_becomes_a_pending_request_of_the_token(api: Api, http: TestClient) -> None:
    token = api.token("crm", ("payments:write",))
    answer = http.post("/payments/invoice", json=INVOICE, headers=api.headers(token))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["state"] == "pending"
    assert body["status_url"] == f"/api/business/actions/{body['request_id']}"
    assert answer.headers["location"] == body["status_url"]
    request = request_row(api.sessions, body["request_id"])
    assert request.requester == "api:crm"
    assert request.origin["via"] == "api"
    assert request.origin["token_name"] == "crm"
    assert request.payload["amount"] == {"minor": 150000, "currency": "usd"}
    assert request.rule_name == "invoices"
    assert api.woken == [SLACK]
    with api.sessions.begin() as session:
        actors = set(
            session.execute(
                select(AuditEntry.actor).where(AuditEntry.kind == "request.submitted")
            ).scalars()
        )
    assert actors == {"api:crm"}


def test_a_handle_names_the_client_and_a_subscription_waits_for_stripe(
    api: Api, http: TestClient
) -> None:
    with api.sessions.begin() as session:
        clients.remember(session, Customer("cus_1", "ops@acme.example", "Acme"))
    token = api.token()
    answer = http.post(
        "/payments/subscription",
        json={"client": "acme", "amount": "500", "interval": "month", "plan": "Care"},
        headers=api.headers(token),
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "received"
    request = request_row(api.sessions, answer.json()["request_id"])
    assert request.payload["client_email"] == "ops@acme.example"
    assert request.action == "payments.subscription"
    assert api.woken == [PREPARE]


@pytest.mark.parametrize(
    ("body", "action", "expected"),
    [
        (
            {"invoice_id": "in_1", "reason": "Broken"},
            "payments.refund",
            {"invoice_id": "in_1", "amount": None, "whole_rest": True, "reason": "Broken"},
        ),
        (
            {"invoice_id": "in_1", "amount": "20 EUR", "reason": "Late"},
            "payments.refund",
            {
                "invoice_id": "in_1",
                "amount": {"minor": 2000, "currency": "eur"},
                "whole_rest": False,
                "reason": "Late",
            },
        ),
        (
            {"invoice_id": "in_1"},
            "payments.pay",
            {"invoice_id": "in_1", "out_of_band": False, "note": None},
        ),
        (
            {"invoice_id": "in_1", "method": "out_of_band", "note": "Bank transfer"},
            "payments.pay",
            {"invoice_id": "in_1", "out_of_band": True, "note": "Bank transfer"},
        ),
    ],
)
def test_refunds_and_payments_build_the_slash_commands_payloads(
    api: Api, http: TestClient, body: dict[str, Any], action: str, expected: dict[str, Any]
) -> None:
    route = "/payments/refund" if action == "payments.refund" else "/payments/process"
    answer = http.post(route, json=body, headers=api.headers(api.token()))
    assert answer.status_code == 202, answer.text
    request = request_row(api.sessions, answer.json()["request_id"])
    assert request.action == action
    assert request.payload == expected


def test_a_forbidden_request_is_rejected_at_once_and_its_callback_queued(
    sessions: sessionmaker[Session],
) -> None:
    policy = parse_policy(
        """\
version: 1
groups: {finance: [U0FIN1]}
defaults: {approvers: [finance]}
rules:
  - name: no-crypto
    action: payments.*
    client: "*@crypto.example"
    forbid: true
"""
    )
    api = build_test_api(sessions, policy)
    with TestClient(api.app) as http:
        answer = http.post(
            "/payments/invoice",
            json={**INVOICE, "client": "x@crypto.example", "callback_url": "https://cb.example/"},
            headers=api.headers(api.token()),
        )
    assert answer.status_code == 202
    assert answer.json()["state"] == "rejected"
    assert answer.json()["reason"]
    with sessions.begin() as session:
        queued = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == outbox.CALLBACK)
        ).scalar_one()
        assert queued.body["outcome"]["state"] == "rejected"
        assert queued.body["callback_url"] == "https://cb.example/"


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer emp_nope", "Basic abc", "Bearer " + "emp_" + "a" * 43],
)
def test_no_valid_token_is_401_and_leaves_no_trace(
    api: Api, http: TestClient, authorization: str | None
) -> None:
    api.token()
    before = counts(api.sessions)
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("POST", "/payments/invoice"),
        ("GET", "/actions"),
        ("GET", "/fiverr/orders"),
    ):
        answer = http.request(method, path, json=INVOICE, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert counts(api.sessions) == before


def test_a_revoked_token_is_401(api: Api, http: TestClient) -> None:
    from bot.api import tokens

    token = api.token()
    assert http.get("/actions", headers=api.headers(token)).status_code == 200
    with api.sessions.begin() as session:
        tokens.revoke(session, "crm")
    assert http.get("/actions", headers=api.headers(token)).status_code == 401


def test_a_missing_scope_is_403_and_audited_as_the_token(api: Api, http: TestClient) -> None:
    token = api.token("reader", ("actions:read",))
    requests_before, _ = counts(api.sessions)
    answer = http.post("/payments/invoice", json=INVOICE, headers=api.headers(token))
    assert answer.status_code == 403
    assert "payments:write" in answer.json()["detail"]
    assert http.get("/payments/status/in_1", headers=api.headers(token)).status_code == 403
    assert counts(api.sessions)[0] == requests_before
    refused = refusals(api.sessions)
    assert [(actor, entry["status"]) for actor, entry in refused] == [
        ("api:reader", 403),
        ("api:reader", 403),
    ]
    assert refused[0][1]["path"] == "/payments/invoice"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**INVOICE, "amount": "12.345"}, "amount"),
        ({**INVOICE, "amount": "-5"}, "amount"),
        ({**INVOICE, "amount": 1500}, "amount"),
        ({**INVOICE, "client": "not an email"}, "client"),
        ({**INVOICE, "client": "nobody-known"}, "client"),
        ({**INVOICE, "description": "   "}, "description"),
        ({**INVOICE, "description": "x" * 501}, "description"),
        ({**INVOICE, "callback_url": "ftp://example.com/"}, "callback_url"),
        ({**INVOICE, "callback_url": "javascript:alert(1)"}, "callback_url"),
        ({**INVOICE, "currency": "xyz"}, "currency"),
        ({**INVOICE, "amount": "20 EUR", "currency": "usd"}, "currency"),
        ({**INVOICE, "due_days": 0}, "due_days"),
        ({**INVOICE, "surprise": 1}, "surprise"),
        ({"amount": "5", "description": "x"}, "client"),
    ],
)
def test_a_malformed_body_is_422_with_the_field_and_audited(
    api: Api, http: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = http.post("/payments/invoice", json=body, headers=api.headers(api.token()))
    assert answer.status_code == 422, answer.text
    errors = answer.json()["detail"]
    assert any(field in [str(part) for part in error["loc"]] for error in errors), errors
    assert counts(api.sessions)[0] == 0
    assert [entry["status"] for _actor, entry in refusals(api.sessions)] == [422]


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b"[]", b"null", b""])
def test_a_body_that_is_not_a_json_object_is_422(
    api: Api, http: TestClient, content: bytes
) -> None:
    answer = http.post(
        "/payments/invoice",
        content=content,
        headers=api.headers(api.token(), **{"Content-Type": "application/json"}),
    )
    assert answer.status_code == 422
    assert isinstance(answer.json()["detail"], list)
    assert counts(api.sessions)[0] == 0


def test_an_oversized_body_is_413_and_audited(api: Api, http: TestClient) -> None:
    token = api.token()
    big = {**INVOICE, "description": "x" * (65 * 1024)}
    answer = http.post("/payments/invoice", json=big, headers=api.headers(token))
    assert answer.status_code == 413
    assert answer.json()["error"] == "too_large"
    assert counts(api.sessions)[0] == 0
    assert [entry["status"] for _actor, entry in refusals(api.sessions)] == [413]


def test_an_oversized_body_without_a_token_is_401(api: Api, http: TestClient) -> None:
    answer = http.post("/payments/invoice", content=b"x" * (70 * 1024))
    assert answer.status_code == 401
    assert counts(api.sessions) == (0, 0)


# -- idempotency ------------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer(api: Api, http: TestClient) -> None:
    headers = api.headers(api.token(), **{"Idempotency-Key": "order-17"})
    first = http.post("/payments/invoice", json=INVOICE, headers=headers)
    again = http.post("/payments/invoice", json=dict(reversed(INVOICE.items())), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert counts(api.sessions)[0] == 1


def test_the_same_key_with_another_body_is_409(api: Api, http: TestClient) -> None:
    headers = api.headers(api.token(), **{"Idempotency-Key": "order-17"})
    assert http.post("/payments/invoice", json=INVOICE, headers=headers).status_code == 202
    other = http.post("/payments/invoice", json={**INVOICE, "amount": "1600"}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"] == "idempotency_conflict"
    elsewhere = http.post(
        "/payments/refund", json={"invoice_id": "in_1", "reason": "x"}, headers=headers
    )
    assert elsewhere.status_code == 409
    assert counts(api.sessions)[0] == 1
    assert [entry["status"] for _actor, entry in refusals(api.sessions)] == [409, 409]


def test_keys_belong_to_their_token_and_a_refused_body_does_not_use_one_up(
    api: Api, http: TestClient
) -> None:
    one, two = api.token("one"), api.token("two")
    key = {"Idempotency-Key": "k"}
    bad = http.post(
        "/payments/invoice",
        json={**INVOICE, "client": "unknown-handle"},
        headers=api.headers(one, **key),
    )
    assert bad.status_code == 422
    assert (
        http.post("/payments/invoice", json=INVOICE, headers=api.headers(one, **key)).status_code
        == 202
    )
    assert (
        http.post("/payments/invoice", json=INVOICE, headers=api.headers(two, **key)).status_code
        == 202
    )
    assert counts(api.sessions)[0] == 2


# -- reading --------------------------------------------------------------------------


def test_an_action_shows_its_approvals_and_outcome(api: Api, http: TestClient) -> None:
    token = api.token()
    created = http.post("/payments/invoice", json=INVOICE, headers=api.headers(token)).json()
    request_id = created["request_id"]
    request = request_row(api.sessions, request_id)
    api.governance.approve(request_id, "U0FIN1", request.payload_hash)
    gateway = MemoryGateway()
    Executor(api.sessions, gateway, retry_delays=(0,), sleep=lambda _: None).run_ready()
    shown = http.get(
        created["status_url"].removeprefix("/api/business"), headers=api.headers(token)
    )
    assert shown.status_code == 200
    view = shown.json()
    assert view["state"] == "succeeded"
    assert view["api_client"] == "crm"
    assert [approval["user_id"] for approval in view["approvals"]] == ["U0FIN1"]
    assert view["rule"] == "invoices"
    assert view["result"]["object_id"].startswith("in_")
    assert "callback_url" not in view["origin"]


def test_actions_are_listed_newest_first_by_state_with_pages(api: Api, http: TestClient) -> None:
    headers = api.headers(api.token())
    ids = [
        http.post("/payments/invoice", json=INVOICE, headers=headers).json()["request_id"]
        for _ in range(3)
    ]
    http.post("/payments/refund", json={"invoice_id": "in_1", "reason": "x"}, headers=headers)
    page = http.get("/actions", params={"state": "pending", "limit": 2}, headers=headers).json()
    assert [view["request_id"] for view in page["actions"]] == [ids[2], ids[1]]
    following = http.get(page["next"].removeprefix("/api/business"), headers=headers).json()
    assert [view["request_id"] for view in following["actions"]] == [ids[0]]
    assert following["next"] is None
    assert http.get("/actions", params={"state": "nonsense"}, headers=headers).status_code == 422
    assert http.get("/actions/999", headers=headers).status_code == 404


def test_an_invoice_status_is_read_from_the_ledger(api: Api, http: TestClient) -> None:
    headers = api.headers(api.token())
    assert http.get("/payments/status/in_unknown", headers=headers).status_code == 404
    now = utcnow()
    with api.sessions.begin() as session:
        session.add(
            LedgerInvoice(
                stripe_id="in_ledger1",
                customer="cus_1",
                customer_email="acme@example.com",
                number="A-1",
                status="open",
                currency="usd",
                amount_due=150000,
                amount_paid=0,
                amount_remaining=150000,
                created_at=now,
                as_of=1,
                updated_at=now,
            )
        )
    shown = http.get("/payments/status/in_ledger1", headers=headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["amount_due"] == {
        "minor": 150000,
        "currency": "usd",
        "formatted": "$1,500.00",
    }
    assert shown.json()["status"] == "open"


def test_marketplace_and_fiverr_answer_501(api: Api, http: TestClient) -> None:
    headers = api.headers(api.token("reader", ("actions:read",)))
    for method, path in (
        ("POST", "/marketplace/search"),
        ("GET", "/marketplace/jobs"),
        ("POST", "/marketplace/accept/job_1"),
        ("POST", "/fiverr/gig"),
        ("GET", "/fiverr/orders"),
    ):
        answer = http.request(method, path, headers=headers)
        assert answer.status_code == 501
        assert answer.json()["error"] == "not_implemented"
    assert counts(api.sessions)[0] == 0


def test_the_webhook_alias_verifies_as_stripe_webhook_does(api: Api, http: TestClient) -> None:
    unsigned = http.post("/payments/webhook", json={"id": "evt_1"})
    assert unsigned.status_code == 400
    event = json.dumps(
        {
            "id": "evt_api_1",
            "object": "event",
            "type": "customer.created",
            "created": 1700000000,
            "data": {"object": {"id": "cus_9", "object": "customer", "email": "a@b.example"}},
        }
    )
    import time

    signed = http.post(
        "/payments/webhook",
        content=event,
        headers={"Stripe-Signature": signature_header(event, WEBHOOK_SECRET, int(time.time()))},
    )
    assert signed.status_code == 200, signed.text


def test_the_token_records_when_it_was_last_used(api: Api, http: TestClient) -> None:
    token = api.token()
    http.get("/actions", headers=api.headers(token))
    with api.sessions.begin() as session:
        row = session.execute(select(ApiToken)).scalar_one()
        assert row.last_used_at is not None
        assert row.token_hash != token.token
        assert token.token not in json.dumps(row.scopes)


# -- callbacks --------------------------------------------------------------------------


def test_a_denied_request_posts_its_signed_outcome(api: Api, http: TestClient) -> None:
    token = api.token()
    created = http.post(
        "/payments/invoice",
        json={**INVOICE, "callback_url": "https://crm.example/hook?x=1"},
        headers=api.headers(token),
    ).json()
    request = request_row(api.sessions, created["request_id"])
    api.governance.deny(request.id, "U0FIN1", request.payload_hash, "Wrong amount")
    posted: list[tuple[str, bytes, dict[str, str]]] = []

    def post(url: str, content: bytes, headers: dict[str, str]) -> int:
        posted.append((url, content, headers))
        return 503 if len(posted) == 1 else 200

    sender = CallbackSender(api.sessions, PEPPER, post)
    assert sender.run_once() == 1
    assert sender.run_once() == 0  # backing off after the 503
    with api.sessions.begin() as session:
        message = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == outbox.CALLBACK)
        ).scalar_one()
        assert message.attempts == 1
        assert message.last_error == "answered 503"
        message.next_attempt_at = utcnow()
    assert sender.run_once() == 1
    url, content, headers = posted[-1]
    assert url == "https://crm.example/hook?x=1"
    outcome = json.loads(content)
    assert outcome["event"] == "action.outcome"
    assert outcome["state"] == "denied"
    assert outcome["decided_by"] == "U0FIN1"
    assert outcome["decision_note"] == "Wrong amount"
    assert verify(token.callback_secret, content, headers["Empire-Signature"])
    assert not verify("cbsec_other", content, headers["Empire-Signature"])
    assert sender.run_once() == 0


def test_the_slack_worker_leaves_callbacks_alone(api: Api, http: TestClient) -> None:
    http.post(
        "/payments/invoice",
        json={**INVOICE, "callback_url": "https://crm.example/hook"},
        headers=api.headers(api.token()),
    )
    with api.sessions.begin() as session:
        request = session.execute(select(ActionRequest)).scalar_one()
        request_id, shown = request.id, request.payload_hash
    api.governance.deny(request_id, "U0FIN1", shown, "no")
    with api.sessions.begin() as session:
        assert outbox.has_due(session)
        assert not outbox.has_due(session, outbox.SLACK_KINDS)
        assert outbox.claim_due(session, utcnow() - utcnow(), kinds=outbox.SLACK_KINDS) == []


def test_no_callback_without_a_callback_url(api: Api, http: TestClient) -> None:
    created = http.post("/payments/invoice", json=INVOICE, headers=api.headers(api.token())).json()
    request = request_row(api.sessions, created["request_id"])
    api.governance.deny(request.id, "U0FIN1", request.payload_hash, "no")
    with api.sessions.begin() as session:
        assert not outbox.has_due(session, (outbox.CALLBACK,))
