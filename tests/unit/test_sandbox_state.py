"""What the sandbox page reads: the version digest, the Stripe dashboard and the audit panel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.sandbox import state
from governance import audit
from integrations.local.stripe.server import FakeStripe, run_fake_stripe
from storage.db import make_engine, make_session_factory
from storage.models import AuditEntry
from tests.audit_tamper import unguarded
from tests.databases import fresh_sqlite

# -- versioned ---------------------------------------------------------------------------------


def test_the_version_is_the_same_for_the_same_content() -> None:
    first = state.versioned({"a": 1, "b": [1, 2, {"c": "x"}]})
    again = state.versioned({"b": [1, 2, {"c": "x"}], "a": 1})  # key order does not count
    assert first["version"] == again["version"]
    assert first == {"a": 1, "b": [1, 2, {"c": "x"}], "version": first["version"]}


@pytest.mark.parametrize(
    "changed",
    [
        {"a": 2, "b": [1, 2, {"c": "x"}]},
        {"a": 1, "b": [1, 2, {"c": "y"}]},  # deep inside
        {"a": 1, "b": [2, 1, {"c": "x"}]},  # order of a list
        {"a": 1, "b": [1, 2, {"c": "x"}], "d": None},  # a field more
    ],
)
def test_the_version_changes_when_the_content_does(changed: dict[str, Any]) -> None:
    before = state.versioned({"a": 1, "b": [1, 2, {"c": "x"}]})["version"]
    assert state.versioned(changed)["version"] != before


# -- the Stripe dashboard --------------------------------------------------------------------


@pytest.fixture
def local_stripe() -> Iterator[FakeStripe]:
    with run_fake_stripe() as running:
        yield running


def sdk(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        http_client=stripe.HTTPXClient(timeout=5, allow_sync_methods=True),
        max_network_retries=0,
    )


def an_invoice(
    client: stripe.StripeClient, customer: str, amount: int, description: str, *, final: bool
) -> str:
    invoice = client.v1.invoices.create(
        params={
            "customer": customer,
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "currency": "usd",
            "description": description,
        }
    )
    client.v1.invoice_items.create(
        params={"customer": customer, "invoice": invoice.id, "amount": amount}
    )
    if final:
        client.v1.invoices.finalize_invoice(invoice.id)
    return invoice.id


def test_the_dashboard_formats_amounts_and_marks_only_open_unpaid_invoices_payable(
    local_stripe: FakeStripe,
) -> None:
    client = sdk(local_stripe)
    acme = client.v1.customers.create(params={"name": "Acme Studio", "email": "a@acme.example"})
    bare = client.v1.customers.create(params={"email": "ap@globex.example"})  # no name
    local_stripe.attach_card(bare.id)
    open_one = an_invoice(client, acme.id, 120_000, "Website", final=True)
    paid_one = an_invoice(client, acme.id, 1_450_000, "Platform", final=True)
    local_stripe.pay_invoice(paid_one)
    draft = an_invoice(client, bare.id, 5_000, "Not sent yet", final=False)

    dashboard = state.stripe_dashboard(local_stripe)

    customers = {c["id"]: c for c in dashboard["customers"]}
    assert customers[acme.id] == {
        "id": acme.id,
        "name": "Acme Studio",
        "email": "a@acme.example",
        "card": False,
    }
    assert customers[bare.id]["card"] is True
    invoices = {i["id"]: i for i in dashboard["invoices"]}
    assert set(invoices) == {open_one, paid_one, draft}
    assert invoices[open_one]["amount"] == "$1,200.00"
    assert invoices[open_one]["status"] == "open"
    assert invoices[open_one]["customer"] == "Acme Studio"
    assert invoices[open_one]["description"] == "Website"
    assert invoices[paid_one]["amount"] == "$14,500.00"
    assert invoices[paid_one]["status"] == "paid"
    assert invoices[draft]["customer"] == "ap@globex.example"  # no name: the email
    assert invoices[draft]["status"] == "draft"
    assert {i: invoices[i]["payable"] for i in invoices} == {
        open_one: True,
        paid_one: False,
        draft: False,
    }
    assert dashboard["refunds"] == []
    assert dashboard["subscriptions"] == []
    assert len(dashboard["version"]) == 16


def test_the_dashboard_shows_refunds_with_their_invoice_and_subscriptions_with_their_price(
    local_stripe: FakeStripe,
) -> None:
    client = sdk(local_stripe)
    globex = client.v1.customers.create(params={"name": "Globex", "email": "ap@globex.example"})
    local_stripe.attach_card(globex.id)
    paid = an_invoice(client, globex.id, 1_450_000, "Platform", final=True)
    local_stripe.pay_invoice(paid)
    payments = client.v1.invoice_payments.list(params={"invoice": paid, "status": "paid"})
    intent = payments.data[0].payment.payment_intent
    assert isinstance(intent, str)
    client.v1.refunds.create(params={"payment_intent": intent, "amount": 1_200_000})
    product = client.v1.products.create(params={"name": "Support retainer"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "unit_amount": 50_000,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    client.v1.subscriptions.create(params={"customer": globex.id, "items": [{"price": price.id}]})

    dashboard = state.stripe_dashboard(local_stripe)

    number = local_stripe.get(paid)["number"]
    assert [(r["amount"], r["invoice"]) for r in dashboard["refunds"]] == [("$12,000.00", number)]
    [subscription] = dashboard["subscriptions"]
    assert subscription["customer"] == "Globex"
    assert subscription["plan"] == "Support retainer"
    assert subscription["price"] == "$500.00 / month"
    assert subscription["status"] == "active"


def test_the_version_of_the_dashboard_changes_when_an_invoice_is_paid(
    local_stripe: FakeStripe,
) -> None:
    client = sdk(local_stripe)
    acme = client.v1.customers.create(params={"name": "Acme Studio"})
    invoice = an_invoice(client, acme.id, 90_000, "Logo", final=True)
    before = state.stripe_dashboard(local_stripe)
    assert state.stripe_dashboard(local_stripe)["version"] == before["version"]
    local_stripe.pay_invoice(invoice)
    assert state.stripe_dashboard(local_stripe)["version"] != before["version"]


# -- the audit panel -------------------------------------------------------------------------


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    with fresh_sqlite(tmp_path) as url:
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def record(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        audit.append(session, "request.submitted", "U0SALES1", {"text": "invoice"}, 1)
    with sessions.begin() as session:
        audit.append(session, "approval.given", "U0FIN1", {}, 1)
    with sessions.begin() as session:
        audit.append(session, "stripe.event", "stripe", {"type": "invoice.paid"}, None)
    with sessions.begin() as session:
        audit.append(session, "execution.step", "empire", {"step": "send"}, 1)


def test_the_audit_panel_verifies_and_names_the_actors(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    record(sqlite_sessions)

    panel = state.audit_panel(sqlite_sessions)

    assert panel["verify"] == {"ok": True, "text": "OK: 4 entries"}
    entries = panel["entries"]
    assert [e["id"] for e in entries] == [4, 3, 2, 1]  # newest first
    assert [(e["actor"], e["actor_name"]) for e in entries] == [
        ("empire", "empire"),
        ("stripe", "stripe"),
        ("U0FIN1", "Fran (finance)"),
        ("U0SALES1", "Riley (sales)"),
    ]
    assert [e["event"] for e in entries] == [
        "execution.step",
        "stripe.event",
        "approval.given",
        "request.submitted",
    ]
    assert [e["detail"] for e in entries] == ["send", "invoice.paid", "", ""]
    assert [e["request"] for e in entries] == [1, None, 1, 1]
    assert all(len(e["hash"]) == 13 and e["hash"].endswith("…") for e in entries)
    assert all(len(e["at"]) == len("2026-11-26 18:54:02") for e in entries)


def test_an_empty_audit_log_verifies(sqlite_sessions: sessionmaker[Session]) -> None:
    panel = state.audit_panel(sqlite_sessions)
    assert panel["verify"] == {"ok": True, "text": "OK: 0 entries"}
    assert panel["entries"] == []


def test_a_tampered_entry_is_reported(sqlite_sessions: sessionmaker[Session]) -> None:
    record(sqlite_sessions)
    before = state.audit_panel(sqlite_sessions)
    with sqlite_sessions.begin() as session, unguarded(session):
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="U0OUTSIDER"))

    panel = state.audit_panel(sqlite_sessions)

    assert panel["verify"]["ok"] is False
    assert panel["verify"]["text"].startswith("BROKEN at entry 2: ")
    assert panel["version"] != before["version"]
