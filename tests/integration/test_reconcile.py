"""Reconciliation against the fake Stripe over HTTP: what nobody approved is found, once.

Approved requests run through `Governance` and `Executor` with the real `StripeGateway`;
"dashboard" changes are made with the Stripe SDK directly. Changes Stripe's lists do not
date (voids, payments outside Stripe) reach the ledger through the fake's events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from governance import webhooks
from governance.actions.invoice import invoice_payload
from governance.actions.pay import pay_payload
from governance.actions.refund import refund_payload
from governance.actions.subscription import cancel_payload, subscription_payload
from governance.executor import Executor
from governance.money import Money
from governance.ports import ExternalError
from governance.reconcile import Finding, Reconciliation, reconcile
from governance.service import Governance
from integrations.local.stripe.server import FakeStripe
from integrations.stripe_gateway import StripeGateway
from storage import outbox
from storage.models import (
    ActionRequest,
    AuditEntry,
    Client,
    OutboxMessage,
    ReconciliationFinding,
)
from storage.types import utcnow
from tests.policies import standard_policy

USD = "usd"
DAY = 86_400
EMAIL = "acme@example.com"


# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    adapter = StripeGateway(fake.api_key, fake.url, max_network_retries=0, timeout=5.0)
    yield adapter
    adapter.close()


@pytest.fixture
def dashboard(fake: FakeStripe) -> stripe.StripeClient:
    """Someone working in the Stripe dashboard: the SDK, with no request behind it."""
    return stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        http_client=stripe.HTTPXClient(timeout=5, allow_sync_methods=True),
        max_network_retries=0,
    )


@pytest.fixture
def governance(sessions: sessionmaker[Session]) -> Governance:
    policy = standard_policy()
    return Governance(sessions, lambda: policy)


@pytest.fixture
def start() -> datetime:
    """Before anything in the test happened: the window of most runs."""
    return utcnow() - timedelta(minutes=1)


def approved(
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    action: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Submit, prepare, approve (by as many people as the rule needs) and execute."""
    request_id = governance.submit(action, payload, "U0REQ", {}).request_id
    governance.prepare(request_id, gateway)
    with sessions() as session:
        stored = session.get(ActionRequest, request_id)
        assert stored is not None
        assert stored.state == "pending", stored.failure_reason
        shown, needed = stored.payload_hash, stored.approvals_required
    for approver in ["U0FIN1", "U0FIN2", "U0FIN3"][:needed]:
        governance.approve(request_id, approver, shown)
    Executor(sessions, gateway, retry_delays=(0, 0), sleep=lambda _: None).run_ready()
    with sessions() as session:
        done = session.get(ActionRequest, request_id)
        assert done is not None
        assert done.state == "succeeded", done.failure_reason
        return dict(done.result)


def approved_invoice(
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    amount: int = 150_000,
    email: str = EMAIL,
) -> str:
    payload = invoice_payload(email, Money(amount, USD), "Website development", 30)
    return str(approved(governance, sessions, gateway, "payments.invoice", payload)["object_id"])


def customer_of(gateway: StripeGateway, email: str = EMAIL) -> str:
    found = gateway.find_customer(email)
    assert found is not None
    return found.id


def feed_events(fake: FakeStripe, sessions: sessionmaker[Session], gateway: StripeGateway) -> None:
    """Every event so far into the ledger, as the webhook endpoint would (repeats are no-ops)."""
    for event in fake.events():
        raw = json.dumps(event).encode()
        receipt = webhooks.receive(sessions, raw, dict(event), gateway)
        assert receipt != webhooks.Receipt.FAILED, event["type"]


def run(
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    since: datetime,
    fake: FakeStripe | None = None,
) -> Reconciliation:
    if fake is not None:
        feed_events(fake, sessions, gateway)
    return reconcile(sessions, gateway, since=since)


def dashboard_invoice(
    dashboard: stripe.StripeClient, customer: str, amount: int = 42_000
) -> stripe.Invoice:
    invoice = dashboard.v1.invoices.create(
        params={
            "customer": customer,
            "collection_method": "send_invoice",
            "days_until_due": 14,
            "currency": USD,
        }
    )
    dashboard.v1.invoice_items.create(
        params={"customer": customer, "invoice": invoice.id, "amount": amount}
    )
    return dashboard.v1.invoices.finalize_invoice(invoice.id)


def payment_intent_of(dashboard: stripe.StripeClient, invoice_id: str) -> str:
    payments = dashboard.v1.invoice_payments.list(params={"invoice": invoice_id, "status": "paid"})
    intent = payments.data[0].payment.payment_intent
    assert isinstance(intent, str)
    return intent


def monthly_price(dashboard: stripe.StripeClient, amount: int = 4_900) -> str:
    product = dashboard.v1.products.create(params={"name": "Side retainer"})
    price = dashboard.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": amount,
            "currency": USD,
            "recurring": {"interval": "month"},
        }
    )
    return price.id


def approved_subscription(
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    amount: int = 250_000,
) -> str:
    payload = subscription_payload(EMAIL, Money(amount, USD), "month", "Retainer", None)
    return str(
        approved(governance, sessions, gateway, "payments.subscription", payload)["object_id"]
    )


def count(sessions: sessionmaker[Session], model: type, **where: object) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(session.execute(query).scalar_one())


def notifications(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        return [
            dict(body)
            for body in session.execute(
                select(OutboxMessage.body)
                .where(OutboxMessage.kind == outbox.NOTIFY)
                .order_by(OutboxMessage.id)
            ).scalars()
            if body.get("event") == "reconcile.unapproved"
        ]


def only(result: Reconciliation) -> Finding:
    assert len(result.findings) == 1, result.findings
    return result.findings[0]


# -- approved changes are not findings ---------------------------------------------------


def test_an_approved_invoice_paid_and_refunded_is_no_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway)
    fake.pay_invoice(invoice_id)
    payload = refund_payload(invoice_id, Money(20_000, USD), "Goodwill")
    approved(governance, sessions, gateway, "payments.refund", payload)
    assert len(fake.objects("refund")) == 1
    result = run(sessions, gateway, start, fake)
    assert result.findings == []
    assert result.new == []
    assert result.checked == 2  # the invoice and the refund
    assert count(sessions, ReconciliationFinding) == 0
    assert count(sessions, AuditEntry, kind="reconcile.unapproved") == 0
    assert notifications(sessions) == []


def test_an_approved_subscription_its_renewals_and_its_cancellation_are_no_findings(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)  # makes acme a client
    subscription = approved_subscription(governance, sessions, gateway)
    fake.advance(32 * DAY)
    fake.advance(31 * DAY)
    invoices = [i for i in fake.objects("invoice") if i["id"] != subscription]
    assert len(invoices) >= 4  # the first invoice, the direct one, and two renewals
    approved(
        governance,
        sessions,
        gateway,
        "payments.cancel_subscription",
        cancel_payload(subscription, True, None),
    )
    assert fake.get(subscription)["status"] == "canceled"
    result = run(sessions, gateway, start, fake)
    assert result.findings == []
    assert result.checked == len(fake.objects("invoice")) + 1


def test_a_cancellation_approved_for_the_period_end_is_no_finding_when_it_ends(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    subscription = approved_subscription(governance, sessions, gateway)
    approved(
        governance,
        sessions,
        gateway,
        "payments.cancel_subscription",
        cancel_payload(subscription, False, None),
    )
    assert run(sessions, gateway, start, fake).findings == []
    fake.advance(32 * DAY)
    assert fake.get(subscription)["status"] == "canceled"
    assert run(sessions, gateway, start, fake).findings == []


def test_an_approved_payment_outside_stripe_is_no_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway)
    payload = pay_payload(invoice_id, "Paid by cheque 1042")
    approved(governance, sessions, gateway, "payments.pay", payload)
    assert fake.get(invoice_id)["status"] == "paid"
    result = run(sessions, gateway, start, fake)
    assert result.findings == []
    assert count(sessions, ReconciliationFinding) == 0


# -- dashboard changes are findings, one each --------------------------------------------


def test_an_invoice_made_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    customer = customer_of(gateway)
    made = dashboard_invoice(dashboard, customer, 42_000)
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("invoice", made.id)
    assert (finding.amount, finding.currency, finding.customer) == (42_000, USD, customer)
    assert finding.at is not None
    assert finding.at >= start


def test_a_refund_made_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway)
    fake.pay_invoice(invoice_id)
    refund = dashboard.v1.refunds.create(
        params={"payment_intent": payment_intent_of(dashboard, invoice_id), "amount": 12_500}
    )
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("refund", refund.id)
    assert (finding.amount, finding.currency) == (12_500, USD)
    assert finding.customer == customer_of(gateway)


def test_a_subscription_made_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    customer = customer_of(gateway)
    made = dashboard.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": monthly_price(dashboard, 4_900)}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("subscription", made.id)
    assert (finding.amount, finding.currency, finding.customer) == (4_900, USD, customer)


def test_a_cancellation_made_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    subscription = approved_subscription(governance, sessions, gateway, 250_000)
    dashboard.v1.subscriptions.cancel(subscription)
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("cancellation", subscription)
    assert (finding.amount, finding.currency) == (250_000, USD)
    assert finding.customer == customer_of(gateway)


def test_a_cancellation_at_period_end_made_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    subscription = approved_subscription(governance, sessions, gateway)
    dashboard.v1.subscriptions.update(subscription, params={"cancel_at_period_end": True})
    assert [f.key for f in run(sessions, gateway, start, fake).findings] == [
        f"cancellation:{subscription}"
    ]
    fake.advance(32 * DAY)  # it ends: still the same one finding
    assert [f.key for f in run(sessions, gateway, start, fake).findings] == [
        f"cancellation:{subscription}"
    ]
    assert count(sessions, ReconciliationFinding) == 1


def test_a_void_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway, 150_000)
    dashboard.v1.invoices.void_invoice(invoice_id)
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("void", invoice_id)
    assert (finding.amount, finding.currency) == (150_000, USD)
    assert finding.customer == customer_of(gateway)


def test_a_payment_marked_outside_stripe_in_the_dashboard_is_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway, 150_000)
    dashboard.v1.invoices.pay(invoice_id, params={"paid_out_of_band": True})
    finding = only(run(sessions, gateway, start, fake))
    assert (finding.kind, finding.object_id) == ("paid_out_of_band", invoice_id)
    assert (finding.amount, finding.currency) == (150_000, USD)
    assert finding.customer == customer_of(gateway)


def test_a_card_payment_by_the_client_is_no_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    start: datetime,
) -> None:
    invoice_id = approved_invoice(governance, sessions, gateway)
    fake.pay_invoice(invoice_id)
    assert run(sessions, gateway, start, fake).findings == []


def test_the_renewals_of_a_dashboard_subscription_are_part_of_its_one_finding(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    approved_invoice(governance, sessions, gateway)
    customer = customer_of(gateway)
    fake.attach_card(customer)
    made = dashboard.v1.subscriptions.create(
        params={"customer": customer, "items": [{"price": monthly_price(dashboard)}]}
    )
    fake.advance(32 * DAY)
    assert len([i for i in fake.objects("invoice") if i["customer"] == customer]) == 3
    assert [f.key for f in run(sessions, gateway, start, fake).findings] == [
        f"subscription:{made.id}"
    ]


# -- reported once, listed each time ------------------------------------------------------


def test_a_second_run_lists_the_findings_again_but_reports_none_anew(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    paid = approved_invoice(governance, sessions, gateway, 90_000)
    voided = approved_invoice(governance, sessions, gateway, 30_000)
    fake.pay_invoice(paid)
    made = dashboard_invoice(dashboard, customer_of(gateway), 42_000)
    refund = dashboard.v1.refunds.create(
        params={"payment_intent": payment_intent_of(dashboard, paid), "amount": 5_000}
    )
    dashboard.v1.invoices.void_invoice(voided)
    expected = {f"invoice:{made.id}", f"refund:{refund.id}", f"void:{voided}"}

    first = run(sessions, gateway, start, fake)
    assert {f.key for f in first.findings} == expected
    assert {f.key for f in first.new} == expected
    second = run(sessions, gateway, start, fake)
    assert second.findings == first.findings
    assert second.new == []

    assert count(sessions, ReconciliationFinding) == 3
    assert count(sessions, AuditEntry, kind="reconcile.unapproved") == 3
    with sessions() as session:
        audited = session.execute(
            select(AuditEntry.actor, AuditEntry.payload).where(
                AuditEntry.kind == "reconcile.unapproved"
            )
        ).all()
    assert {actor for actor, _ in audited} == {"empire"}
    assert {json.loads(payload)["object_id"] for _, payload in audited} == {
        made.id,
        refund.id,
        voided,
    }
    notes = notifications(sessions)
    assert len(notes) == 3
    assert all(note["loud"] for note in notes)
    by_kind = {note["facts"]["kind"]: note["facts"] for note in notes}
    assert by_kind["invoice"]["object_id"] == made.id
    assert (by_kind["refund"]["amount"], by_kind["refund"]["currency"]) == (5_000, USD)
    assert (by_kind["void"]["amount"], by_kind["void"]["customer"]) == (
        30_000,
        customer_of(gateway),
    )


def test_a_finding_is_reported_once_even_after_it_leaves_and_reenters_the_window(
    fake: FakeStripe,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    customer = dashboard.v1.customers.create(params={"email": "bea@example.com"})
    dashboard_invoice(dashboard, customer.id)
    assert len(run(sessions, gateway, start).new) == 1
    later = utcnow() + timedelta(hours=1)
    assert run(sessions, gateway, later).findings == []
    again = run(sessions, gateway, start)
    assert (len(again.findings), again.new) == (1, [])
    assert len(notifications(sessions)) == 1


# -- the window ---------------------------------------------------------------------------


def test_the_window_leaves_out_what_happened_before_it(
    fake: FakeStripe,
    governance: Governance,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
) -> None:
    paid = approved_invoice(governance, sessions, gateway, 90_000)
    voided = approved_invoice(governance, sessions, gateway, 30_000)
    marked = approved_invoice(governance, sessions, gateway, 20_000)
    customer = customer_of(gateway)
    fake.pay_invoice(paid)
    intent = payment_intent_of(dashboard, paid)
    # before the window: everything made in the dashboard
    dashboard_invoice(dashboard, customer, 11_000)
    dashboard.v1.refunds.create(params={"payment_intent": intent, "amount": 1_000})
    dashboard.v1.invoices.void_invoice(voided)
    dashboard.v1.invoices.pay(marked, params={"paid_out_of_band": True})
    old_subscription = dashboard.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": monthly_price(dashboard)}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )
    fake.advance(2 * 3600)
    since = datetime.fromtimestamp(fake.now(), tz=UTC) - timedelta(hours=1)
    assert run(sessions, gateway, since, fake).findings == []

    # in the window: more of the same, and the old subscription cancelled
    new_invoice = dashboard_invoice(dashboard, customer, 22_000)
    new_refund = dashboard.v1.refunds.create(params={"payment_intent": intent, "amount": 2_000})
    dashboard.v1.subscriptions.cancel(old_subscription.id)
    result = run(sessions, gateway, since, fake)
    assert {f.key for f in result.findings} == {
        f"invoice:{new_invoice.id}",
        f"refund:{new_refund.id}",
        f"cancellation:{old_subscription.id}",
    }
    assert all(f.at is not None and f.at >= since for f in result.findings)
    # a wider window finds the older ones too
    wide = run(sessions, gateway, utcnow() - timedelta(days=1), fake)
    assert len(wide.findings) == 8
    assert {f.kind for f in wide.findings} == {
        "invoice",
        "refund",
        "void",
        "paid_out_of_band",
        "subscription",
        "cancellation",
    }


# -- the client registry ------------------------------------------------------------------


def test_customers_made_in_the_dashboard_join_the_client_registry(
    fake: FakeStripe,
    sessions: sessionmaker[Session],
    gateway: StripeGateway,
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    customer = dashboard.v1.customers.create(params={"email": "bea@example.com"})
    assert run(sessions, gateway, start).findings == []  # a customer alone moves no money
    with sessions() as session:
        client = session.execute(select(Client)).scalar_one()
        assert (client.email, client.stripe_customer) == ("bea@example.com", customer.id)


# -- Stripe down ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "doing"),
    [
        ("/v1/invoices", "list recent invoices"),
        ("/v1/refunds", "list recent refunds"),
        ("/v1/subscriptions", "list the subscriptions"),
        ("/v1/customers", "list the customers"),
    ],
)
def test_a_stripe_outage_is_a_clear_error_and_records_nothing(
    fake: FakeStripe,
    sessions: sessionmaker[Session],
    dashboard: stripe.StripeClient,
    start: datetime,
    path: str,
    doing: str,
) -> None:
    customer = dashboard.v1.customers.create(params={"email": "bea@example.com"})
    dashboard_invoice(dashboard, customer.id)
    retrying = StripeGateway(fake.api_key, fake.url, max_network_retries=2, timeout=5.0)
    try:
        fake.fail_next("GET", path, status=500, times=3)
        with pytest.raises(ExternalError) as raised:
            reconcile(sessions, retrying, since=start)
        assert raised.value.reason == f"Stripe could not {doing} just now (HTTP 500)."
        assert fake.count("GET", path, status=500) == 3
        for model in (ReconciliationFinding, AuditEntry, OutboxMessage, Client):
            assert count(sessions, model) == 0, model.__name__
        # once Stripe is back, the next run finds it
        assert len(reconcile(sessions, retrying, since=start).new) == 1
    finally:
        retrying.close()


def test_runs_at_the_same_time_report_a_finding_once(
    fake: FakeStripe,
    sessions: sessionmaker[Session],
    dashboard: stripe.StripeClient,
    start: datetime,
) -> None:
    customer = dashboard.v1.customers.create(params={"email": "bea@example.com"})
    gateways = [
        StripeGateway(fake.api_key, fake.url, max_network_retries=0, timeout=5.0) for _ in range(4)
    ]
    try:
        reconcile(sessions, gateways[0], since=start)  # the client is known before the race
        made = dashboard_invoice(dashboard, customer.id)
        barrier = threading.Barrier(len(gateways))

        def run_at_once(gateway: StripeGateway) -> Reconciliation:
            barrier.wait()
            return reconcile(sessions, gateway, since=start)

        with ThreadPoolExecutor(len(gateways)) as pool:
            results = list(pool.map(run_at_once, gateways))
    finally:
        for gateway in gateways:
            gateway.close()
    assert all([f.key for f in r.findings] == [f"invoice:{made.id}"] for r in results)
    assert sum(len(r.new) for r in results) == 1
    assert count(sessions, AuditEntry, kind="reconcile.unapproved") == 1
    assert len(notifications(sessions)) == 1
